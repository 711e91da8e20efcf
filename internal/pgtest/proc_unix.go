//go:build unix

package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// credential is the user the cluster runs as.
type credential struct{ uid, gid int }

// runAs is the user the cluster runs as: nil (this process's) unless it
// is root, then postgres, else nobody.
func runAs() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, errors.New("running as root, and neither a postgres nor a nobody user to run PostgreSQL as")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &credential{uid: uid, gid: gid}, nil
}

// runAsUser makes cmd run as cred (when set), in a process group of its
// own when group is set.
func runAsUser(cmd *exec.Cmd, cred *credential, group bool) {
	attr := &syscall.SysProcAttr{Setpgid: group}
	if cred != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(cred.uid), Gid: uint32(cred.gid)}
	}
	cmd.SysProcAttr = attr
}
