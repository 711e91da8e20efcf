package cli

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
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

// lastErrorAt returns the agent's last fatal error and when it was written.
func lastErrorAt(stateDir string) (string, time.Time, bool) {
	path := filepath.Join(stateDir, lastErrorFile)
	fi, err := os.Stat(path)
	if err != nil {
		return "", time.Time{}, false
	}
	msg, ok := lastError(stateDir, time.Time{})
	return msg, fi.ModTime(), ok
}

// printLastError prints why the agent last stopped, and when, if it
// stopped on an error.
func printLastError(w io.Writer, stateDir string) {
	if msg, at, ok := lastErrorAt(stateDir); ok {
		fmt.Fprintf(w, "it stopped on an error at %s: %s\n", at.Local().Format(time.DateTime), msg)
	}
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
		return &exitError{exitFailed, fmt.Errorf("service %s: not started: %s", action, whyStopped(s, cfg, user, begun))}
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
		if serviceExited(s, user) {
			return fmt.Errorf("service %s: %s", action, whyStopped(s, cfg, user, begun))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s: the agent did not answer on %s within %s; its last log lines:\n%s", action, cfg.Control.Socket, startTimeout, serviceLog(s, user, begun))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// whyStopped says why the agent stopped after since: its last error, else
// what the service manager says, with the service's last log lines.
func whyStopped(s service.Service, cfg *config.Agent, user bool, since time.Time) string {
	if msg, ok := lastError(cfg.StateDir, since); ok {
		return "the agent stopped: " + msg
	}
	why := "the agent stopped at once"
	if s.Platform() == systemSystemd {
		if u, ok := systemdUnit(user); ok && u.failure() != "" {
			why = cmp.Or(u.failure(), "the agent stopped")
		}
	}
	return why + "; its last log lines:\n" + serviceLog(s, user, since)
}

// serviceExited reports whether the service manager says the agent is no
// longer running (on systemd: stopped, failed or waiting to restart).
func serviceExited(s service.Service, user bool) bool {
	switch s.Platform() {
	case systemSysV:
		return exec.Command("/etc/init.d/cloudkeep", "status").Run() != nil
	case systemSystemd:
		u, ok := systemdUnit(user)
		return !ok || u.stopped()
	}
	st, err := s.Status()
	return err != nil || st == service.StatusStopped
}

// serviceLog returns the service's log lines since since, or where to find
// them.
func serviceLog(s service.Service, user bool, since time.Time) string {
	var cmd *exec.Cmd
	switch s.Platform() {
	case systemSystemd:
		unit := []string{"-u", "cloudkeep"}
		if user {
			unit = []string{"--user", "-u", "cloudkeep"}
		}
		args := append(unit, "--since", fmt.Sprintf("@%.6f", float64(since.UnixMicro())/1e6), "-n", "10", "-o", "cat", "--no-pager")
		cmd = exec.Command("journalctl", args...)
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
func (g *globals) serviceStatus(ctx context.Context, s service.Service, path string, user bool) error {
	installed, err := serviceInstalled(s)
	if err != nil {
		return err
	}
	if !installed {
		fmt.Fprintln(g.stdout, "service: not installed")
		return nil
	}
	cfg, cfgErr := config.Load(path)
	if cfgErr == nil {
		if st, err := agent.NewClient(cfg.Control.Socket).Status(ctx); err == nil {
			fmt.Fprintln(g.stdout, "service: running")
			printStatus(g.stdout, st, time.Now())
			return nil
		}
	}
	stateDir := ""
	if cfg != nil {
		stateDir = cfg.StateDir
	}
	if why, ok := managerFailure(s, stateDir, user); ok {
		fmt.Fprintf(g.stdout, "service: failed: %s\n", why)
		return &exitError{exitFailed, errors.New("the agent is not running")}
	}
	if cfgErr != nil {
		if !serviceExited(s, user) {
			return &exitError{exitFailed, fmt.Errorf("service status: running, but its config no longer loads (a restart would fail): %w", cfgErr)}
		}
		return fmt.Errorf("service status: installed, but its config does not load: %w", cfgErr)
	}
	if msg, ok := lastError(cfg.StateDir, time.Time{}); ok {
		fmt.Fprintf(g.stdout, "service: failed: %s\n", msg)
		return &exitError{exitFailed, errors.New("the agent's last run failed")}
	}
	if !serviceExited(s, user) {
		fmt.Fprintf(g.stdout, "service: starting (the agent does not answer on %s yet)\n", cfg.Control.Socket)
		return nil
	}
	fmt.Fprintln(g.stdout, "service: stopped")
	return nil
}

// managerFailure reports what the service manager knows of an agent that
// died: systemd failed or restarting it, or a System V PID file whose
// process is gone. The agent's last error, if any, is added.
func managerFailure(s service.Service, stateDir string, user bool) (string, bool) {
	var why, restarting string
	switch s.Platform() {
	case systemSystemd:
		u, ok := systemdUnit(user)
		if !ok || (u.Sub != "auto-restart" && u.Active != "failed") {
			return "", false
		}
		why = cmp.Or(u.failure(), "the agent stopped")
		if u.Sub == "auto-restart" {
			restarting = fmt.Sprintf("; systemd starts it again in a moment (%s restart(s) so far)", u.Restarts)
		}
	case systemSysV:
		data, err := os.ReadFile(sysvPIDFile)
		pid := strings.TrimSpace(string(data))
		if err != nil || pid == "" {
			return "", false
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			return "", false
		}
		why = fmt.Sprintf("the agent is not running (pid %s gone)", pid)
	default:
		return "", false
	}
	if msg, ok := lastError(stateDir, time.Time{}); ok && stateDir != "" {
		why += "; its last error: " + msg
	}
	return why + restarting, true
}

// sysvPIDFile is where the System V script records the agent's PID.
const sysvPIDFile = "/var/run/cloudkeep.pid"

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
