//go:build unix

package config

import (
	"io/fs"
	"os/user"
	"strconv"
	"syscall"
)

// groupName returns " NAME" for the file's group (its number when the
// name is unknown), or "" when the system does not say.
func groupName(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	id := strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return " " + g.Name
	}
	return " " + id
}
