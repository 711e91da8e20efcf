package account

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
)

// LoadSecret reads the service's 32-byte secret from dir, creating it at
// first start (mode 0600). It keys the hashes of codes, tokens and CSRF
// tokens, so every replica must share it.
func LoadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b = randomBytes(32)
		if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return b, nil
	case err != nil:
		return nil, err
	case len(b) != 32:
		return nil, fmt.Errorf("%s is not a 32-byte secret", path)
	}
	return b, nil
}
