//go:build unix

package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// checkRunAs checks, before installing the system service, that its user
// exists and can do what the agent does: run binary and load the config
// (its secret files included) with `config check`, and write its state
// directory (which systemd creates when it is /var/lib/cloudkeep).
func checkRunAs(binary, configPath, stateDir string, systemd bool) error {
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return fmt.Errorf("the system service runs as the %s user, which does not exist: create it with `%s` "+
			"and its state directory with `install -d -m 0700 -o %s -g %s %s`, then install again",
			serviceUser, makeUserCommand, serviceUser, serviceUser, systemStateDir)
	}
	cred, err := credential(u)
	if err != nil {
		return err
	}
	out, err := runAs(cred, u.HomeDir, binary, "config", "check", "--config", configPath)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("the %s user cannot run %s: %v: install the binary where every user can run it (/usr/local/bin, mode 0755)", serviceUser, binary, err)
	}
	if err != nil {
		return fmt.Errorf("the service runs as the %s user, and as %s the config check fails:\n%s\n"+
			"make the files it names readable by %s (`chown %s FILE`, or `chgrp %s FILE` and `chmod g+r FILE`)",
			serviceUser, serviceUser, strings.TrimSpace(out), serviceUser, serviceUser, serviceUser)
	}
	return checkStateDir(cred, u.HomeDir, stateDir, systemd)
}

// checkStateDir checks that the service's user can write stateDir.
func checkStateDir(cred *syscall.Credential, home, stateDir string, systemd bool) error {
	if _, err := os.Stat(stateDir); err != nil {
		if systemd && stateDir == systemStateDir {
			return nil // StateDirectory= makes it
		}
		return fmt.Errorf("the state directory %s does not exist: make it with `install -d -m 0700 -o %s -g %s %s`",
			stateDir, serviceUser, serviceUser, stateDir)
	}
	if systemd && stateDir != systemStateDir {
		return fmt.Errorf("state_dir %s: the system service may write only to %s (ProtectSystem=strict): set state_dir: %s",
			stateDir, systemStateDir, systemStateDir)
	}
	if _, err := runAs(cred, home, "/bin/sh", "-c", `test -w "$1" && test -x "$1"`, "sh", stateDir); err != nil {
		return fmt.Errorf("the %s user cannot write its state directory %s: run `chown -R %s:%s %s`",
			serviceUser, stateDir, serviceUser, serviceUser, stateDir)
	}
	return nil
}

func credential(u *user.User) (*syscall.Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	ids, _ := u.GroupIds()
	for _, g := range ids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c, nil
}

// runAs runs a command as cred with the environment the service has.
func runAs(cred *syscall.Credential, home, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/local/bin:/usr/bin:/bin", "XDG_STATE_HOME=/var/lib"}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}
