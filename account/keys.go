package account

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
)

// keyFile holds the signing keys, newest last, with mode 0600.
const keyFile = "signing-keys.json"

// keysKept is how many keys JWKS publishes: the current and the one before,
// so tokens signed just before a rotation stay valid.
const keysKept = 2

type storedKey struct {
	ID      string    `json:"kid"`
	Created time.Time `json:"created"`
	PEM     string    `json:"pem"` // PKCS#8 EC private key
}

// Keys signs access tokens (ES256) and publishes the public keys as JWKS.
type Keys struct {
	path string
	keys []storedKey
	priv []*ecdsa.PrivateKey
}

// LoadKeys reads the keys in dir, creating the first one at first start.
func LoadKeys(dir string) (*Keys, error) {
	k := &Keys{path: filepath.Join(dir, keyFile)}
	data, err := os.ReadFile(k.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return k, k.Rotate()
	case err != nil:
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	if err := json.Unmarshal(data, &k.keys); err != nil {
		return nil, fmt.Errorf("read signing keys %s: %w", k.path, err)
	}
	for _, s := range k.keys {
		block, _ := pem.Decode([]byte(s.PEM))
		if block == nil {
			return nil, fmt.Errorf("read signing keys %s: key %s is not PEM", k.path, s.ID)
		}
		p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		ec, ok := p.(*ecdsa.PrivateKey)
		if err != nil || !ok {
			return nil, fmt.Errorf("read signing keys %s: key %s is not an EC key", k.path, s.ID)
		}
		k.priv = append(k.priv, ec)
	}
	if len(k.keys) == 0 {
		return k, k.Rotate()
	}
	return k, nil
}

// Rotate makes a new signing key current; the previous one stays in JWKS.
func (k *Keys) Rotate() error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	id := make([]byte, 9)
	rand.Read(id)
	k.keys = append(k.keys, storedKey{
		ID:      base64.RawURLEncoding.EncodeToString(id),
		Created: time.Now().UTC(),
		PEM:     string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	k.priv = append(k.priv, priv)
	if len(k.keys) > keysKept {
		k.keys, k.priv = k.keys[len(k.keys)-keysKept:], k.priv[len(k.priv)-keysKept:]
	}
	data, err := json.MarshalIndent(k.keys, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(k.path, data, 0o600)
}

// JWKS returns the public keys.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for i, s := range k.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv[i].PublicKey, KeyID: s.ID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set
}

// Sign returns a JWT of claims signed with the current key.
func (k *Keys) Sign(claims ...any) (string, error) {
	last := len(k.keys) - 1
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv[last]},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.keys[last].ID))
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
// into out. It does not check expiry or audience: the caller does.
func (k *Keys) Verify(token string, out any) error {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return err
	}
	set := k.JWKS()
	for _, h := range tok.Headers {
		for _, key := range set.Key(h.KeyID) {
			if err := tok.Claims(key.Key, out); err == nil {
				return nil
			}
		}
	}
	return errors.New("token not signed by a known key")
}
