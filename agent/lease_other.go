//go:build !linux

package agent

import (
	"errors"
	"io/fs"
)

// leaseSupported reports whether readLease can tell a closed file from one
// still open for writing on this system: only Linux has read leases, so
// elsewhere a file is judged complete by the settle period alone.
const leaseSupported = false

func readLease(string) (fs.FileInfo, error) { return nil, errors.ErrUnsupported }
