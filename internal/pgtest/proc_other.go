//go:build !unix

package pgtest

import (
	"errors"
	"os/exec"
)

type credential struct{ uid, gid int }

// runAs: test clusters run on Unix systems only.
func runAs() (*credential, error) {
	return nil, errors.New("PostgreSQL test clusters run on Unix systems only")
}

func runAsUser(*exec.Cmd, *credential, bool) {}
