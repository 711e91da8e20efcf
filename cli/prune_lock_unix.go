//go:build !windows

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockPrune takes the prune lock of the state directory: two prunes of one
// device at once would each remove and forget what the other listed.
func lockPrune(stateDir string) (unlock func(), err error) {
	path := filepath.Join(stateDir, "prune.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("prune: open its lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &exitError{exitFailed, fmt.Errorf("another cloudkeep prune of this device is running (it holds %s): wait for it to end", path)}
		}
		return nil, fmt.Errorf("prune: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
