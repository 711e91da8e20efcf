package cli

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `status` before the agent's first start only looks: it says there is no
// journal yet and creates none (nor the state directory), so that a root
// look leaves nothing the service's user cannot write.
func TestStatus_NoJournalYetCreatesNothing(t *testing.T) {
	path := writeAgentConfig(t, closedAddr(t))
	state := filepath.Join(filepath.Dir(path), "state")
	var stdout, stderr bytes.Buffer
	if code := mainWith(context.Background(), []string{"status", "--config", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	want := "agent: not running (start it with `cloudkeep run` or `cloudkeep service start`)\n" +
		"journal: none yet in " + state + " (the agent has not run with this state_dir)\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\ngot  %q\nwant %q", got, want)
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("status made %s (%v), want nothing created", state, err)
	}
}

// `status --watch` refreshes until interrupted, which ends it with exit 0;
// outside a terminal each refresh follows the last under a dated line.
// A bad interval is a usage error.
func TestStatus_Watch(t *testing.T) {
	path := writeAgentConfig(t, closedAddr(t))
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := mainWith(ctx, []string{"status", "--config", path, "--watch", "--interval", "100ms"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	refreshes := strings.Count(stdout.String(), "--- ")
	if n := strings.Count(stdout.String(), "agent: not running"); refreshes < 3 || n != refreshes {
		t.Errorf("%d refreshes, %d statuses in 450ms at 100ms, want 3 or more of each:\n%s", refreshes, n, stdout.String())
	}
	stdout.Reset()
	code := mainWith(context.Background(), []string{"status", "--config", path, "--watch", "--interval", "1ms"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--interval 1ms: at least 100ms") {
		t.Errorf("--interval 1ms: exit %d, stderr %q", code, stderr.String())
	}
}
