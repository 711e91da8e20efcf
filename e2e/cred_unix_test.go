package e2e

import (
	"os/exec"
	"syscall"
)

func setCredential(cmd *exec.Cmd, u *userIDs) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
}
