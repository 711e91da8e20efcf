package account

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// keyFile is where cloudkeep kept the signing keys before they moved into
// the store: imported at first start, then renamed keyFile+".imported".
const keyFile = "signing-keys.json"

// fileKey is a key of keyFile, newest last.
type fileKey struct {
	ID      string    `json:"kid"`
	Created time.Time `json:"created"`
	PEM     string    `json:"pem"` // PKCS#8 EC private key
}

// importFile moves the keys of an earlier cloudkeep's keyFile in dir into
// an empty store, so that the tokens they signed stay valid, and renames
// the file. When the store has keys already (another replica made or
// imported them), the file is renamed if they are its keys and left, with
// a warning, if not.
func (k *Keys) importFile(ctx context.Context, dir string) error {
	path := filepath.Join(dir, keyFile)
	keys, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(keys) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	sealed := make([]SigningKey, len(keys))
	for i, fk := range keys {
		priv, err := parseKeyPEM(fk)
		if err == nil {
			sealed[i], err = k.seal(SigningKey{Seq: int64(i + 1), ID: fk.ID, Created: fk.Created}, priv)
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
	}
	added, err := k.store.AddSigningKeys(ctx, sealed)
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	if !added {
		stored, err := k.store.SigningKeys(ctx, keysKept)
		if err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		if !sameKeys(stored, keys) {
			k.log.Warn().Str("file", path).Msg("the store holds other signing keys: this file is not imported, and tokens its keys signed are refused")
			return nil
		}
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	k.log.Info().Str("file", path).Int("keys", len(keys)).Bool("added", added).Msg("signing keys imported into the store")
	return nil
}

// sameKeys reports whether every key of the file is among the stored.
func sameKeys(stored []SigningKey, file []fileKey) bool {
	for _, fk := range file {
		if !slices.ContainsFunc(stored, func(s SigningKey) bool { return s.ID == fk.ID }) {
			return false
		}
	}
	return true
}

func readKeyFile(path string) ([]fileKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []fileKey
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("read signing keys %s: %w", path, err)
	}
	return keys[max(0, len(keys)-keysKept):], nil
}

func parseKeyPEM(fk fileKey) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(fk.PEM))
	if block == nil {
		return nil, fmt.Errorf("key %s is not PEM", fk.ID)
	}
	p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	ec, ok := p.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("key %s is not an EC key", fk.ID)
	}
	return ec, nil
}
