//go:build !linux && !darwin

package freeup

import "io/fs"

// ctimeOf returns 0: no status change time here, the size, mtime and
// inode are all that is compared.
func ctimeOf(fs.FileInfo) int64 { return 0 }

// linksOf returns 1: the number of names is not known here.
func linksOf(fs.FileInfo) uint64 { return 1 }
