package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for passwords (OWASP's minimum: 19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns the PHC-formatted argon2id hash of password.
func hashPassword(password string) string {
	salt := randomBytes(16)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword reports whether password matches a hashPassword hash, in
// constant time.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when no account matches, so that a sign-in takes as
// long whether or not the account exists. It is made on first use: commands
// that never check a password do not pay for it.
var dummyHash = sync.OnceValue(func() string { return hashPassword("no such account, no such password") })

// argonWait is how long a password check waits for a free argon2 slot
// before the answer is ErrBusy.
const argonWait = 250 * time.Millisecond

// ErrBusy answers a request that found every argon2 slot taken.
var ErrBusy = &Error{Code: "busy", Status: 503, RetryAfter: time.Second,
	Message: "The service is busy: try again in a second."}

// withArgon runs f in one of the service's argon2 slots, of which there
// are about as many as processors: each hash takes argonMemory, so the
// slots bound the memory the service uses whatever arrives. When no slot
// frees up within argonWait it returns ErrBusy and f does not run.
func (s *Service) withArgon(ctx context.Context, f func()) error {
	select {
	case s.argon <- struct{}{}:
	default:
		t := time.NewTimer(argonWait)
		defer t.Stop()
		select {
		case s.argon <- struct{}{}:
		case <-t.C:
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-s.argon }()
	f()
	// The hash's memory is garbage now: collect it before the slot is
	// free again, or the next hashes stack new memory on top of it before
	// a collection comes round. A collection of the service's small heap
	// costs far less than a hash.
	runtime.GC()
	return nil
}

// checkPasswordBounded is checkPassword in an argon2 slot.
func (s *Service) checkPasswordBounded(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	err := s.withArgon(ctx, func() { ok = checkPassword(hash, password) })
	return ok, err
}

// hashPasswordBounded is hashPassword in an argon2 slot.
func (s *Service) hashPasswordBounded(ctx context.Context, password string) (string, error) {
	var hash string
	err := s.withArgon(ctx, func() { hash = hashPassword(password) })
	return hash, err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return b
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// userCodeAlphabet has no vowels (no words) and no look-alikes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// randomUserCode returns a device user code such as "WDJB-MJHT".
func randomUserCode() string {
	var b strings.Builder
	for i := range 8 {
		if i == 4 {
			b.WriteByte('-')
		}
		d, _ := rand.Int(rand.Reader, big.NewInt(int64(len(userCodeAlphabet))))
		b.WriteByte(userCodeAlphabet[d.Int64()])
	}
	return b.String()
}

// normalizeUserCode accepts "wdjb mjht", "WDJBMJHT" and "WDJB-MJHT".
func normalizeUserCode(s string) string {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, s))
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:]
}

// keyedHash hashes a secret (a code, a token) with the server's key, so a
// stolen database does not give the codes away.
func keyedHash(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// equalHash compares two hex hashes in constant time.
func equalHash(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
