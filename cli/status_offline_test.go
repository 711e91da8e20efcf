package cli

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
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
