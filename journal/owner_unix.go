//go:build unix

package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ownerProblem returns an error naming a file of the journal at path (the
// database, its -wal and -shm files, its folder) that the running user
// may not write, whose it is, and the fix; nil when there is none.
func ownerProblem(path string) error {
	dir := filepath.Dir(path)
	for _, p := range []string{dir, path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil || unix.Access(p, unix.W_OK) == nil {
			continue
		}
		owner := "another user"
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			owner = userName(int(st.Uid))
		}
		me := userName(os.Geteuid())
		return fmt.Errorf("%s is owned by %s and %s, the user this runs as, cannot write it: run `chown -R %s: %s`", p, owner, me, me, dir)
	}
	return nil
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}
