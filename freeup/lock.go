package freeup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrRunning means another free-up holds the lock.
var ErrRunning = errors.New("another free-up is running")

// LockName is the lock file free-up holds in the state folder while it
// runs.
const LockName = "free-up.lock"

// Lock takes the free-up lock of the state folder dir, without waiting:
// two free-ups at once would move the same files, and the one whose move
// fails must not take the file for still there. It returns ErrRunning
// (wrapped) when another holds it. The lock ends with the process, or
// with unlock.
func Lock(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !held {
		f.Close()
		return nil, fmt.Errorf("%w (it holds %s): let it end first", ErrRunning, path)
	}
	return func() { f.Close() }, nil
}
