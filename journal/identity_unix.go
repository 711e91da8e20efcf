//go:build unix

package journal

import (
	"io/fs"
	"syscall"
)

// IdentityOf returns the identity of the file fi describes.
func IdentityOf(fi fs.FileInfo) Identity {
	id := Identity{Size: fi.Size(), MTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Inode = uint64(st.Ino)
	}
	return id
}
