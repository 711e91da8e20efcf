//go:build !unix

package journal

import "io/fs"

// IdentityOf returns the identity of the file fi describes. Systems without
// inode numbers rely on size and modification time alone.
func IdentityOf(fi fs.FileInfo) Identity {
	return Identity{Size: fi.Size(), MTime: fi.ModTime()}
}
