package agent

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

// Files skipped for the same reason are logged once (then counted once a
// minute), and each still counts as a failure with its path; a full state
// disk is said once, in its own words, and holds the uploads.
func TestAgent_Skipped(t *testing.T) {
	var log bytes.Buffer
	a := &Agent{Log: zerolog.New(&log), StateDir: "/var/lib/cloudkeep"}
	a.Init()
	for i := range 5 {
		a.skipped(t.Context(), fmt.Sprintf("/p/%d.jpg", i), &fs.PathError{Op: "open", Path: fmt.Sprintf("/p/%d.jpg", i), Err: syscall.EACCES})
	}
	for i := range 5 {
		a.skipped(t.Context(), fmt.Sprintf("/p/%d.jpg", i), fmt.Errorf("track %d: %w", i, sqliteError(13)))
	}
	var s Status
	a.track.fill(&s)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"path":"/p/0.jpg"`) ||
		!strings.Contains(lines[1], `"message":"state_dir /var/lib/cloudkeep is full: free space; cloudkeep carries on by itself"`) {
		t.Errorf("logged:\n%s\nwant one line for the unreadable files, one for the full disk", log.String())
	}
	if s.Totals.Failed != 5 || len(s.Errors) != 5 {
		t.Errorf("%d failed, %d errors, want 5 and 5 (the unreadable files)", s.Totals.Failed, len(s.Errors))
	}
	if s.StateFull == "" || !a.queue.stateFull {
		t.Errorf("state full %q, queue held %v: want both", s.StateFull, a.queue.stateFull)
	}
}
