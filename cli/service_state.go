package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kardianos/service"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
)

// startTimeout bounds how long `service start` waits for the agent to
// answer on its control socket.
const startTimeout = 30 * time.Second

// lastErrorFile, in state_dir, holds the error of the agent's last fatal
// exit; a clean exit removes it. It is how `service start` and `service
// status` learn why the agent stopped on every service manager alike.
const lastErrorFile = "last-error"

// recordExit writes or removes state_dir/last-error as `cloudkeep run`
// ends with err.
func recordExit(stateDir string, err error) {
	path := filepath.Join(stateDir, lastErrorFile)
	if err == nil || errors.Is(err, context.Canceled) {
		os.Remove(path)
		return
	}
	if os.MkdirAll(stateDir, 0o700) == nil {
		atomicfile.WriteFile(path, []byte(err.Error()+"\n"), 0o600)
	}
}

// lastError returns the agent's last fatal error if it was written at or
// after since.
func lastError(stateDir string, since time.Time) (string, bool) {
	path := filepath.Join(stateDir, lastErrorFile)
	fi, err := os.Stat(path)
	if err != nil || fi.ModTime().Before(since) {
		return "", false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// serviceStart starts (or restarts) the service once its config loads,
// then waits until the agent answers on its control socket, or has stopped.
func (g *globals) serviceStart(ctx context.Context, s service.Service, action, path string, user bool) error {
	cfg, err := config.Load(path)
	if err != nil {
		return fmt.Errorf("service %s: not started: %w", action, err)
	}
	begun := time.Now()
	if err := service.Control(s, action); err != nil {
		return fmt.Errorf("service %s: %w", action, err)
	}
	client := agent.NewClient(cfg.Control.Socket)
	deadline := begun.Add(startTimeout)
	for {
		if st, err := client.Status(ctx); err == nil {
			fmt.Fprintf(g.stdout, "cloudkeep service: running, answering on %s\n", cfg.Control.Socket)
			printStatus(g.stdout, st, time.Now())
			return nil
		}
		if msg, ok := lastError(cfg.StateDir, begun); ok {
			return fmt.Errorf("service %s: the agent stopped: %s", action, msg)
		}
		if serviceExited(s) {
			return fmt.Errorf("service %s: the agent stopped at once; its last log lines:\n%s", action, serviceLog(s, user))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s: the agent did not answer on %s within %s; its last log lines:\n%s", action, cfg.Control.Socket, startTimeout, serviceLog(s, user))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serviceExited reports whether the service manager says the agent is no
// longer running. (systemd reports a unit waiting to restart as running.)
func serviceExited(s service.Service) bool {
	if s.Platform() == systemSysV {
		return exec.Command("/etc/init.d/cloudkeep", "status").Run() != nil
	}
	st, err := s.Status()
	return err != nil || st == service.StatusStopped
}

// serviceLog returns the service's last log lines, or where to find them.
func serviceLog(s service.Service, user bool) string {
	var cmd *exec.Cmd
	switch s.Platform() {
	case systemSystemd:
		unit := []string{"-u", "cloudkeep"}
		if user {
			unit = []string{"--user", "-u", "cloudkeep"}
		}
		cmd = exec.Command("journalctl", append(unit, "-n", "10", "-o", "cat", "--no-pager")...)
	case systemSysV:
		cmd = exec.Command("tail", "-n", "10", "/var/log/cloudkeep.log")
	default:
		return "  (see the service manager's log)"
	}
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return fmt.Sprintf("  (none: %s)", strings.Join(cmd.Args, " "))
	}
	return "  " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n  ")
}

// serviceStatus says whether the service is not installed, running (with
// the agent's own status), stopped, or failed (with its last error; exit 1).
func (g *globals) serviceStatus(ctx context.Context, s service.Service, path string) error {
	installed, err := serviceInstalled(s)
	if err != nil {
		return err
	}
	if !installed {
		fmt.Fprintln(g.stdout, "service: not installed")
		return nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return fmt.Errorf("service status: installed, but its config does not load: %w", err)
	}
	if st, err := agent.NewClient(cfg.Control.Socket).Status(ctx); err == nil {
		fmt.Fprintln(g.stdout, "service: running")
		printStatus(g.stdout, st, time.Now())
		return nil
	}
	if msg, ok := lastError(cfg.StateDir, time.Time{}); ok {
		fmt.Fprintf(g.stdout, "service: failed: %s\n", msg)
		return &exitError{exitFailed, errors.New("the agent's last run failed")}
	}
	fmt.Fprintln(g.stdout, "service: stopped")
	return nil
}

// serviceInstalled asks the service manager whether the service exists.
func serviceInstalled(s service.Service) (bool, error) {
	if s.Platform() == systemSysV {
		_, err := os.Stat("/etc/init.d/cloudkeep")
		return err == nil, nil
	}
	_, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return false, nil
	case err != nil && s.Platform() != systemSystemd: // systemd: a failed unit is an error too
		return false, fmt.Errorf("service status: cannot ask the %s service manager: %w", s.Platform(), err)
	}
	return true, nil
}
