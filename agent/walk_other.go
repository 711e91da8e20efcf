//go:build !unix

package agent

import "io/fs"

type fileKey struct{}

// keyOf cannot identify folders here; Windows walks do not follow links.
func keyOf(fs.FileInfo) (fileKey, bool) { return fileKey{}, false }
