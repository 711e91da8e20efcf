package account

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
)

// minSecret is the shortest service secret accepted, in bytes.
const minSecret = 32

// LoadSecret reads the service's 32-byte secret from dir, creating it at
// first start (mode 0600). It keys the hashes of codes, tokens and CSRF
// tokens, so every replica must share it: several replicas use
// ReadSecretFile instead.
func LoadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b = randomBytes(minSecret)
		if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return b, nil
	case err != nil:
		return nil, err
	case len(b) != minSecret:
		return nil, fmt.Errorf("%s is not a 32-byte secret", path)
	}
	return b, nil
}

// ReadSecretFile returns the service secret held in the file at path,
// which only its owner may read: at least 32 random bytes as they are
// (`head -c 32 /dev/urandom`), or base64 of them. A secret.key that
// LoadSecret made is such a file, so pointing every replica at a copy of
// it keeps the codes, sessions and refresh tokens it hashed valid.
func ReadSecretFile(path string) ([]byte, error) {
	if err := config.CheckSecretFileMode(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := bytes.TrimSpace(b)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(string(text)); err == nil && len(d) >= minSecret {
			return d, nil
		}
	}
	if len(b) < minSecret {
		return nil, fmt.Errorf("%s holds %d bytes, want at least %d random bytes: make one with `head -c 32 /dev/urandom > %s`", path, len(b), minSecret, path)
	}
	return b, nil
}

// keyEncryptionKey derives from the service secret the AES-256 key that
// encrypts the signing keys at rest. The secret itself keys the hashes
// (keyedHash), as it always has.
func keyEncryptionKey(secret []byte) ([]byte, error) {
	if len(secret) < minSecret {
		return nil, fmt.Errorf("the service secret has %d bytes, want at least %d", len(secret), minSecret)
	}
	return hkdf.Key(sha256.New, secret, nil, "cloudkeep signing-key encryption v1", 32)
}

// sealKey encrypts a private key with AES-256-GCM under kek, bound to its
// key id: a random nonce, then the sealed bytes.
func sealKey(kek []byte, kid string, der []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	nonce := randomBytes(aead.NonceSize())
	return aead.Seal(nonce, nonce, der, []byte(kid)), nil
}

// openKey is the inverse of sealKey; a key sealed under another kek (or
// for another kid) is ErrWrongSecret.
func openKey(kek []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrWrongSecret
	}
	der, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(kid))
	if err != nil {
		return nil, ErrWrongSecret
	}
	return der, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
