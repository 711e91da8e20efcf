package account

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// keysKept is how many keys the store keeps and JWKS publishes at least:
// the current and the one before. A key older than these stays, published
// and accepted, until no token it signed can still be valid (see
// Keys.keep).
const keysKept = 2

// keysLoadedMax bounds the keys a replica loads: more keys than this can
// only be there after rotations in a loop, within one access-token
// lifetime.
const keysLoadedMax = 100

// keysReloadEvery is how often every replica reads the signing keys again,
// so that a key made by another replica's --rotate-key is published and
// used everywhere within a minute.
const keysReloadEvery = 30 * time.Second

// unknownKidReloads bounds the reloads a token naming an unknown key may
// cause: a token signed by a key another replica just made verifies at
// once, and forged key ids cost the store at most one query a second.
const unknownKidReloads = rate.Limit(1)

// ErrWrongSecret is returned when the signing keys in the store cannot be
// decrypted with the service secret.
var ErrWrongSecret = errors.New("cannot decrypt with this service secret")

// Keys signs access tokens (ES256) with the newest signing key it has
// loaded from the store, and verifies and publishes as JWKS every key the
// store still holds: a key a newer one replaced stays until every token
// any replica signed with it has expired. It is safe for concurrent use;
// Run keeps it up to date with the store.
type Keys struct {
	store Store
	kek   []byte // encrypts the private keys at rest (see sealKey)
	log   zerolog.Logger
	every time.Duration // between reloads
	ttl   time.Duration // the lifetime of the access tokens this replica signs
	now   func() time.Time

	set    atomic.Pointer[keySet]
	mu     sync.Mutex // one load from the store at a time
	unseen *rate.Limiter
}

// keySet is one load of the keys, never changed once published.
type keySet struct {
	ids  []string // oldest first
	priv []*ecdsa.PrivateKey
	seq  int64 // the newest key's number
	jwks jose.JSONWebKeySet
}

func (ks *keySet) knows(kid string) bool { return slices.Contains(ks.ids, kid) }

// OpenKeys loads the signing keys from store. At first start it imports
// the signing-keys.json an earlier cloudkeep kept in stateDir, or, when
// there is none, creates the first key: of replicas starting at once on an
// empty store, one creates it and all use it. secret is the service
// secret; keys it cannot decrypt are ErrWrongSecret. accessTTL is the
// lifetime of the access tokens this replica signs: a key replaced by a
// newer one stays in the store at least that long after this replica has
// seen the newer one.
func OpenKeys(ctx context.Context, store Store, secret []byte, stateDir string, accessTTL time.Duration, log zerolog.Logger) (*Keys, error) {
	kek, err := keyEncryptionKey(secret)
	if err != nil {
		return nil, err
	}
	k := &Keys{store: store, kek: kek, log: log.With().Str("component", "keys").Logger(), every: keysReloadEvery,
		ttl: accessTTL, now: time.Now, unseen: rate.NewLimiter(unknownKidReloads, 1)}
	if err := k.importFile(ctx, stateDir); err != nil {
		return nil, err
	}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	if k.set.Load().seq == 0 {
		if err := k.add(ctx, 1); err != nil {
			return nil, err
		}
	}
	if k.set.Load().seq == 0 {
		return nil, errors.New("read signing keys: the store holds none after the first was added")
	}
	return k, nil
}

// Rotate makes a new signing key current in the store; the ones before
// stay in JWKS until the tokens they signed have expired. Other replicas
// pick it up within keysReloadEvery, or at once when a token signed by it
// reaches them. When another replica rotated at the same moment, its key
// is the new one.
func (k *Keys) Rotate(ctx context.Context) error {
	if err := k.Reload(ctx); err != nil {
		return err
	}
	return k.add(ctx, k.set.Load().seq+1)
}

// add makes a new key numbered seq unless another replica made that one,
// then reloads.
func (k *Keys) add(ctx context.Context, seq int64) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sk, err := k.seal(SigningKey{Seq: seq, ID: randomToken(9), Created: time.Now().UTC()}, priv)
	if err != nil {
		return err
	}
	if _, err := k.store.AddSigningKeys(ctx, []SigningKey{sk}); err != nil {
		return fmt.Errorf("add signing key: %w", err)
	}
	return k.Reload(ctx)
}

// Reload forgets the keys no valid token can name any more, reads the
// keys from the store and publishes them.
func (k *Keys) Reload(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, err := k.store.RetireSigningKeys(ctx, k.now(), keysKept)
	if err != nil {
		return fmt.Errorf("retire signing keys: %w", err)
	}
	if n > 0 {
		k.log.Info().Int64("keys", n).Msg("retired signing keys no valid token can name")
	}
	return k.load(ctx)
}

func (k *Keys) load(ctx context.Context) error {
	stored, err := k.store.SigningKeys(ctx, keysLoadedMax)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	if err := k.keep(ctx, stored); err != nil {
		return err
	}
	ks := &keySet{}
	for _, s := range stored {
		priv, err := k.open(s)
		if err != nil {
			return err
		}
		ks.ids = append(ks.ids, s.ID)
		ks.priv = append(ks.priv, priv)
		ks.seq = s.Seq
		ks.jwks.Keys = append(ks.jwks.Keys, jose.JSONWebKey{Key: &priv.PublicKey, KeyID: s.ID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	old := k.set.Load()
	if old != nil && slices.Equal(old.ids, ks.ids) {
		return nil // a new set only when the keys changed: see verifiedTokens
	}
	k.set.Store(ks)
	if len(ks.ids) > 0 {
		k.log.Info().Str("kid", ks.ids[len(ks.ids)-1]).Int64("key", ks.seq).Msg("signing with the newest key")
	}
	return nil
}

// keep makes every key of stored that a newer one replaced stay in the
// store until no token this replica signed with it can still be valid:
// this replica may have signed with it until it saw the newer key, at the
// latest one reload after the newer key was made, or now when it is the
// key this replica has been signing with. Two reloads more cover a
// reload that failed and clocks a little apart. Replicas whose tokens
// live longer keep the key longer; none shortens it.
func (k *Keys) keep(ctx context.Context, stored []SigningKey) error {
	margin := k.ttl + 2*k.every
	signing := ""
	if old := k.set.Load(); old != nil && len(old.ids) > 0 {
		signing = old.ids[len(old.ids)-1]
	}
	for i := 0; i+1 < len(stored); i++ {
		until := stored[i+1].Created.Add(margin)
		if stored[i].ID == signing {
			until = later(until, k.now().Add(margin))
		}
		if !stored[i].RetireAfter.Before(until) {
			continue
		}
		if err := k.store.KeepSigningKey(ctx, stored[i].Seq, until); err != nil {
			return fmt.Errorf("keep signing key %s: %w", stored[i].ID, err)
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reloadFor reloads the keys for a token naming kid, unless they know it
// by now or the reloads for unknown keys are spent.
func (k *Keys) reloadFor(ctx context.Context, kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set.Load().knows(kid) || !k.unseen.Allow() {
		return
	}
	if err := k.load(ctx); err != nil && ctx.Err() == nil {
		k.log.Error().Err(err).Msg("reload signing keys for an unknown key id")
	}
}

// Run reloads the keys every keysReloadEvery until ctx ends. A failed
// reload is logged; the keys loaded before stay in use.
func (k *Keys) Run(ctx context.Context) {
	repeat(ctx, k.every, k.Reload, k.log, "reload signing keys")
}

// JWKS returns the public keys.
func (k *Keys) JWKS() jose.JSONWebKeySet { return k.set.Load().jwks }

// Sign returns a JWT of claims signed with the current key.
func (k *Keys) Sign(claims ...any) (string, error) {
	ks := k.set.Load()
	last := len(ks.ids) - 1
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ks.priv[last]},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", ks.ids[last]))
	if err != nil {
		return "", err
	}
	b := jwt.Signed(sig)
	for _, c := range claims {
		b = b.Claims(c)
	}
	return b.Serialize()
}

// Verify checks a token signed with one of the keys and decodes its claims
// into out. A token naming a key this replica does not know yet makes it
// read the keys again first (see unknownKidReloads). It does not check
// expiry or audience: the caller does.
func (k *Keys) Verify(ctx context.Context, token string, out any) error {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return err
	}
	for _, h := range tok.Headers {
		if !k.set.Load().knows(h.KeyID) {
			k.reloadFor(ctx, h.KeyID)
		}
		set := k.JWKS()
		for _, key := range set.Key(h.KeyID) {
			if err := tok.Claims(key.Key, out); err == nil {
				return nil
			}
		}
	}
	return errors.New("token not signed by a known key")
}

// seal returns s with priv sealed in it.
func (k *Keys) seal(s SigningKey, priv *ecdsa.PrivateKey) (SigningKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return s, err
	}
	s.Sealed, err = sealKey(k.kek, s.ID, der)
	return s, err
}

// open returns the private key sealed in s.
func (k *Keys) open(s SigningKey) (*ecdsa.PrivateKey, error) {
	der, err := openKey(k.kek, s.ID, s.Sealed)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", s.ID, err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	ec, ok := p.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("signing key %s is not an EC key", s.ID)
	}
	return ec, nil
}

// Keys returns the service's signing keys.
func (s *Service) Keys() *Keys { return s.keys }
