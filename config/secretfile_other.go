//go:build !unix

package config

import "io/fs"

// groupName returns "": files have no group here.
func groupName(fs.FileInfo) string { return "" }
