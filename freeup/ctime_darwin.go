package freeup

import (
	"io/fs"
	"syscall"
)

// ctimeOf returns the status change time of fi in nanoseconds: any write
// or touch moves it, one that keeps the size, mtime and inode too.
func ctimeOf(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctimespec.Nano()
	}
	return 0
}

// linksOf returns how many names the file fi has (1 where unknown).
func linksOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
