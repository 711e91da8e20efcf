package freeup

import (
	"io/fs"
	"os"
)

// renameChecked renames from to to unless to exists. Between the check and
// the rename another process could take the name: only where the system
// has no atomic way.
func renameChecked(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
	}
	return os.Rename(from, to)
}
