package agent

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// leaseSupported reports whether readLease can tell a closed file from one
// still open for writing on this system.
const leaseSupported = true

// readLease reports whether every writer has closed the regular file at
// path, by taking a read lease on it and releasing it at once: Linux grants
// one only when no process holds the file open for writing. Granted, it
// returns the file's stat taken under the lease. A writer still holding
// the file is a *fs.PathError with Op leaseOp that wraps unix.EAGAIN; with
// any other errno (EACCES: neither the file's owner nor CAP_LEASE; EINVAL: a
// file system without leases) the lease cannot tell. Other errors are the
// open's.
func readLease(path string) (fs.FileInfo, error) {
	// O_NONBLOCK: a FIFO put in place of the file since its stat must not
	// block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fd := f.Fd()
	if _, err := unix.FcntlInt(fd, unix.F_SETLEASE, unix.F_RDLCK); err != nil {
		return nil, &fs.PathError{Op: leaseOp, Path: path, Err: err}
	}
	// While the lease is held, an open for writing waits for its release:
	// this stat sees the content no writer is changing.
	fi, err := f.Stat()
	if _, uerr := unix.FcntlInt(fd, unix.F_SETLEASE, unix.F_UNLCK); err == nil && uerr != nil {
		err = &fs.PathError{Op: "release lease", Path: path, Err: uerr}
	}
	return fi, err
}
