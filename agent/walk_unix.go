//go:build unix

package agent

import (
	"io/fs"
	"syscall"
)

type fileKey struct{ dev, ino uint64 }

// inodeSet is a dirSet keyed by device and inode number.
type inodeSet map[fileKey]bool

// newDirSet returns the set of folders a walk has entered.
func newDirSet() dirSet { return inodeSet{} }

func (s inodeSet) enter(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell; walk it
	}
	k := fileKey{uint64(st.Dev), uint64(st.Ino)}
	if s[k] {
		return false
	}
	s[k] = true
	return true
}
