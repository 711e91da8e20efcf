//go:build unix

package account

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// sqliteDMSByte is the byte of a WAL database's -shm file on which every
// process that has the database open holds a read lock (SQLite's
// UNIX_SHM_DMS, "dead man switch").
const sqliteDMSByte = 128

// SQLiteUser returns the ID of another process that has the SQLite
// database at path open (a running account service), or 0 when none has.
func SQLiteUser(path string) (int, error) {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // the last process to close the database removes it
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: sqliteDMSByte, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return 0, nil
	}
	return int(lk.Pid), nil
}
