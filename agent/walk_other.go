//go:build !unix

package agent

// newDirSet returns the set of folders a walk has entered. Windows has no
// inode numbers in fs.FileInfo, but os.Stat follows links (and junctions),
// so folders are told apart with os.SameFile.
func newDirSet() dirSet { return &sameFileSet{} }
