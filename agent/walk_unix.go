//go:build unix

package agent

import (
	"io/fs"
	"syscall"
)

type fileKey struct{ dev, ino uint64 }

// keyOf identifies a folder so that a walk enters it once.
func keyOf(info fs.FileInfo) (fileKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true
}
