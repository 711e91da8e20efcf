package account

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// replicas returns n services on one PostgreSQL database that share one
// secret file and one public URL, as replicas behind a load balancer do.
func replicas(t *testing.T, n int) []*env {
	t.Helper()
	url := pgtest.DB(t) + "&pool_max_conns=10"
	secret := randomBytes(32)
	var out []*env
	for range n {
		e := newEnvOn(t, func(t testing.TB, dir string) (Store, error) {
			if err := os.WriteFile(filepath.Join(dir, "secret.key"), secret, 0o600); err != nil {
				return nil, err
			}
			return OpenPostgres(context.Background(), url, "")
		})
		e.svc.cfg.Issuer = "http://accounts.test"
		srv := httptest.NewServer(NewHandler(e.svc, e.svc.log))
		t.Cleanup(srv.Close)
		e.url = srv.URL
		out = append(out, e)
	}
	return out
}

// me calls GET /api/v1/me with token and returns the status and error message.
func (e *env) me(token string) (int, string) {
	e.t.Helper()
	var out wire.Error
	code := e.getMe(token, &out)
	return code, out.Message
}

// getMe calls GET /api/v1/me with token, decodes the answer into out and
// returns the status.
func (e *env) getMe(token string, out any) int {
	e.t.Helper()
	req, _ := newBearer(e.url+wire.PathMe, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

// refresh trades a refresh token on e.
func (e *env) refresh(token string) (int, map[string]any) {
	e.t.Helper()
	return e.call("POST", wire.PathToken, map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": token})
}

// kids returns the key ids e's JWKS publishes.
func (e *env) kids() []string {
	e.t.Helper()
	_, jwks := e.call("GET", "/jwks.json", nil)
	var out []string
	for _, k := range jwks["keys"].([]any) {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	return out
}

// kidOf returns the key id in a token's header.
func kidOf(t testing.TB, token string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		t.Fatalf("parse token: %v", err)
	}
	return tok.Headers[0].KeyID
}

// Replicas starting at once on an empty store end with one signing key,
// and all of them sign with it.
func TestOpenKeys_OneKeyAfterParallelFirstStarts(t *testing.T) {
	for _, s := range []struct {
		name string
		open func(t testing.TB) func() (Store, error)
	}{
		{"sqlite", func(t testing.TB) func() (Store, error) {
			path := filepath.Join(t.TempDir(), "accounts.db")
			return func() (Store, error) { return OpenSQLite(context.Background(), path) }
		}},
		{"postgres", func(t testing.TB) func() (Store, error) {
			url := pgtest.DB(t)
			return func() (Store, error) { return OpenPostgres(context.Background(), url, "") }
		}},
	} {
		t.Run(s.name, func(t *testing.T) {
			open := s.open(t)
			secret := randomBytes(32)
			const n = 8
			kids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					store, err := open()
					if err != nil {
						t.Errorf("replica %d: open store: %v", i, err)
						return
					}
					defer store.Close()
					keys, err := OpenKeys(context.Background(), store, secret, t.TempDir(), 15*time.Minute, zerolog.Nop())
					if err != nil {
						t.Errorf("replica %d: %v", i, err)
						return
					}
					tok, err := keys.Sign(jwt.Claims{Subject: "x"})
					if err != nil {
						t.Errorf("replica %d: sign: %v", i, err)
						return
					}
					kids[i] = kidOf(t, tok)
				})
			}
			wg.Wait()
			store, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			stored, err := store.SigningKeys(context.Background(), 10)
			if err != nil || len(stored) != 1 {
				t.Fatalf("after %d parallel first starts: %d keys in the store (%v), want 1", n, len(stored), err)
			}
			for i, kid := range kids {
				if kid != stored[0].ID {
					t.Errorf("replica %d signs with key %q, want the one key %q", i, kid, stored[0].ID)
				}
			}
		})
	}
}

// A key rotated on replica A: a token it signs verifies on B at once, B
// publishes the key within its reload, the keys before still verify while
// their tokens may be valid, and a key retired after that is refused, also
// for a token B verified before.
func TestReplicas_RotateOnOneVerifiesOnAll(t *testing.T) {
	r := replicas(t, 2)
	a, b := r[0], r[1]
	acct := a.signup("rot@example.com", "rotate-pass-1")
	tok := a.connect(acct, "rotate-pass-1", "rot@example.com", "laptop")
	first := tok["access_token"].(string)
	if code, msg := b.me(first); code != 200 {
		t.Fatalf("A's token on B: %d %s", code, msg)
	}
	if err := a.svc.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, tok := a.refresh(tok["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("refresh on A: %d %v", code, tok)
	}
	second := tok["access_token"].(string)
	if kidOf(t, second) == kidOf(t, first) {
		t.Fatalf("A still signs with the key it had before the rotation")
	}
	if code, msg := b.me(second); code != 200 {
		t.Errorf("a token signed by A's new key on B at once: %d %s, want 200", code, msg)
	}
	if code, msg := b.me(first); code != 200 {
		t.Errorf("a token signed by the previous key on B: %d %s, want 200", code, msg)
	}

	// No token names the next key: B learns it from its reloads.
	clock := &offsetClock{}
	b.svc.keys.now = clock.now
	b.svc.keys.every = 20 * time.Millisecond
	go b.svc.keys.Run(t.Context())
	if err := a.svc.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	newest := a.kids()
	if len(newest) != 3 || newest[0] != kidOf(t, first) || newest[1] != kidOf(t, second) {
		t.Fatalf("A's JWKS after a second rotation: %v, want the first key (its tokens are still valid), the second and a new one", newest)
	}
	b.waitKids(newest)
	if code, msg := b.me(first); code != 200 {
		t.Errorf("a token of the first key, within its lifetime, on B: %d %s, want 200", code, msg)
	}

	// Once no token of the first key can be valid (15 minutes of access
	// token and two reloads after the second key came), B retires it, and
	// refuses the token it had verified.
	clock.add(16*time.Minute + time.Second)
	b.waitKids(newest[1:])
	if code, _ := b.me(first); code != 401 {
		t.Errorf("a token of a key retired, on B that had verified it: %d, want 401", code)
	}
	if code, msg := b.me(second); code != 200 {
		t.Errorf("a token of the previous key on B: %d %s, want 200", code, msg)
	}
}

// waitKids waits until e's JWKS publishes want, within 10 seconds.
func (e *env) waitKids(want []string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := e.kids(); fmt.Sprint(got) != fmt.Sprint(want); got = e.kids() {
		if time.Now().After(deadline) {
			e.t.Fatalf("JWKS: %v, want %v within a reload", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// offsetClock is the time now plus an offset a test moves on.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) add(d time.Duration) { c.offset.Add(int64(d)) }

// What replicas must agree on is in the store or keyed by the shared
// secret: a PIN sent by A verifies on B, a session made on A is valid on
// B, a refresh token from A rotates on B, and a device disconnected
// through A is refused by B at once, though B had verified its token.
func TestReplicas_ShareTheSecretAndTheState(t *testing.T) {
	r := replicas(t, 2)
	a, b := r[0], r[1]
	email := "share@example.com"
	_, s := a.callFrom(clientFor(email), "POST", "/api/v1/signup", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"})
	if code, r := b.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": s["signup_id"].(string), "pin": a.lastCode(email)}); code != 200 {
		t.Fatalf("a PIN sent by A, entered on B: %d %v", code, r)
	}
	code, s := a.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": s["signup_id"].(string), "password": "share-pass-1", "confirm": "share-pass-1"})
	if code != 200 {
		t.Fatalf("password on A: %d %v", code, s)
	}
	acct := s["account_id"].(string)

	session, err := a.svc.NewSession(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.svc.SessionAccount(context.Background(), session); err != nil || got != acct {
		t.Errorf("A's session on B: %q, %v; want %s", got, err, acct)
	}

	tok := a.connect(acct, "share-pass-1", email, "laptop")
	code, onB := b.refresh(tok["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("A's refresh token on B: %d %v", code, onB)
	}
	if code, r := a.refresh(onB["refresh_token"].(string)); code != 200 {
		t.Errorf("the refresh token B issued, on A: %d %v", code, r)
	}

	access := onB["access_token"].(string)
	if code, msg := b.me(access); code != 200 {
		t.Fatalf("the access token on B: %d %s", code, msg)
	}
	_, me := a.callBearer(access)
	if err := a.svc.Disconnect(context.Background(), acct, me.DeviceID); err != nil {
		t.Fatal(err)
	}
	if code, msg := b.me(access); code != 401 || msg != "This device was disconnected." {
		t.Errorf("B after A disconnected the device: %d %q, want 401 This device was disconnected.", code, msg)
	}
}

// callBearer is GET /api/v1/me with token.
func (e *env) callBearer(token string) (int, wire.Me) {
	e.t.Helper()
	var me wire.Me
	code := e.getMe(token, &me)
	return code, me
}

// writeOldState writes the secret.key and signing-keys.json an earlier
// cloudkeep kept in dir, and returns the secret and the keys, newest last.
func writeOldState(t testing.TB, dir string) ([]byte, []fileKey, []*ecdsa.PrivateKey) {
	t.Helper()
	secret := randomBytes(32)
	var keys []fileKey
	var privs []*ecdsa.PrivateKey
	for i := range 2 {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		keys = append(keys, fileKey{ID: fmt.Sprintf("old-key-%d", i), Created: time.Unix(int64(1000*i), 0).UTC(),
			PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
		privs = append(privs, priv)
	}
	data, _ := json.MarshalIndent(keys, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "signing-keys.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.key"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, keys, privs
}

// An install upgraded in place keeps working: the keys of its
// signing-keys.json move into the store (the file is renamed, not
// deleted), the tokens they signed verify, and the refresh tokens hashed
// with its secret.key still rotate.
func TestOpenKeys_ImportsSigningKeysJSON(t *testing.T) {
	var secret []byte
	var old []fileKey
	var privs []*ecdsa.PrivateKey
	var dir string
	e := newEnvOn(t, func(t testing.TB, d string) (Store, error) {
		dir = d
		secret, old, privs = writeOldState(t, d)
		return openSQLite(t, d)
	})
	path := filepath.Join(dir, "signing-keys.json")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("signing-keys.json after the import: %v, want it renamed", err)
	}
	if data, err := os.ReadFile(path + ".imported"); err != nil || !strings.Contains(string(data), `"kid": "old-key-1"`) {
		t.Errorf("signing-keys.json.imported: %v, want the old file", err)
	}
	if got := e.kids(); fmt.Sprint(got) != fmt.Sprint([]string{old[0].ID, old[1].ID}) {
		t.Errorf("JWKS after the import: %v, want the file's keys %s, %s", got, old[0].ID, old[1].ID)
	}

	// A device connected before the upgrade, with its tokens.
	ctx := context.Background()
	acct := e.signup("old@example.com", "old-pass-123")
	dev := Device{ID: "dev-before", AccountID: acct, Name: "old laptop", ClientID: "cloudkeep-agent",
		RefreshHash: keyedHash(secret, "refresh", "refresh-before"), RefreshUntil: time.Now().Add(time.Hour), Created: time.Now()}
	if err := e.svc.store.AddDevice(ctx, dev); err != nil {
		t.Fatal(err)
	}
	for i, priv := range privs {
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", old[i].ID))
		now := time.Now()
		tok, err := jwt.Signed(sig).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.url, Subject: acct, Audience: jwt.Audience{"cloudkeep-agent"},
			Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}, DeviceID: dev.ID}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if code, msg := e.me(tok); code != 200 {
			t.Errorf("a token signed before the upgrade by %s: %d %s, want 200", old[i].ID, code, msg)
		}
	}
	code, tok := e.refresh("refresh-before")
	if code != 200 {
		t.Fatalf("a refresh token issued before the upgrade: %d %v, want 200", code, tok)
	}
	if kid := kidOf(t, tok["access_token"].(string)); kid != old[1].ID {
		t.Errorf("signs with %q after the upgrade, want the file's newest key %q", kid, old[1].ID)
	}

	// The next start imports nothing and keeps the keys.
	keys, err := OpenKeys(ctx, e.svc.store, secret, dir, 15*time.Minute, zerolog.Nop())
	if err != nil || fmt.Sprint(keys.JWKS().Keys[1].KeyID) != old[1].ID {
		t.Errorf("second start: %v, %v", keys, err)
	}
}

// Signing keys the secret cannot decrypt are refused at start: no panic,
// no new key in their place.
func TestOpenKeys_WrongSecretRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(testing.TB) *env) {
		e := newEnv(t)
		ctx := context.Background()
		_, err := OpenKeys(ctx, e.svc.store, randomBytes(32), t.TempDir(), 15*time.Minute, zerolog.Nop())
		if !errors.Is(err, ErrWrongSecret) || !strings.Contains(err.Error(), "signing key "+e.kids()[0]+": cannot decrypt with this service secret") {
			t.Errorf("another secret: got %v, want ErrWrongSecret naming the key", err)
		}
		if stored, err := e.svc.store.SigningKeys(ctx, 10); err != nil || len(stored) != 1 {
			t.Errorf("keys in the store after the refusal: %d (%v), want the 1 there was", len(stored), err)
		}
		if _, err := OpenKeys(ctx, e.svc.store, e.svc.secret, t.TempDir(), 15*time.Minute, zerolog.Nop()); err != nil {
			t.Errorf("the right secret: %v", err)
		}
	})
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	raw := randomBytes(32)
	raw[31] = '\n' // white space at the end of raw bytes is part of the secret
	legacy, err := LoadSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data string
		mode       os.FileMode
		want       []byte
		err        string
	}{
		{"raw", string(raw), 0o600, raw, ""},
		{"base64", base64.StdEncoding.EncodeToString(raw) + "\n", 0o400, raw, ""},
		{"short", "0123456789", 0o600, nil, "holds 10 bytes, want at least 32 random bytes: make one with `head -c 32 /dev/urandom >"},
		{"readable", string(raw), 0o644, nil, "can be read by others (mode 0644)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			os.WriteFile(path, []byte(tc.data), 0o600)
			os.Chmod(path, tc.mode)
			got, err := ReadSecretFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != string(tc.want) {
				t.Errorf("got %x, %v; want %x", got, err, tc.want)
			}
		})
	}
	// secret.key of an install on SQLite, given as secret_key_file, is the
	// same secret: what it hashed stays valid.
	got, err := ReadSecretFile(filepath.Join(dir, "secret.key"))
	if err != nil || string(got) != string(legacy) {
		t.Errorf("secret.key read as secret_key_file: %x, %v; want %x", got, err, legacy)
	}
}
