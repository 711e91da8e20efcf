package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// A file that cannot be read goes to the settler again on the failure
// schedule: after 30 s, then 1, 2 minutes; once read, it starts over.
func TestAgent_RereadSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.jpg")
		os.WriteFile(path, []byte("x"), 0o600)
		a := &Agent{Log: zerolog.Nop(), Roots: []Root{{Name: "r", Path: dir}}}
		a.Init()
		denied := &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
		after := func() time.Duration {
			start := time.Now()
			select {
			case c := <-a.changes:
				if c.abs != path || c.rel != "a.jpg" {
					t.Errorf("change %+v, want a.jpg of r", c)
				}
			case <-time.After(2 * time.Hour):
				t.Fatal("not tried again")
			}
			return time.Since(start)
		}
		for _, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
			a.skipped(t.Context(), path, denied)
			a.skipped(t.Context(), path, denied) // one try waits at a time
			if got := after(); got != want {
				t.Errorf("tried again after %s, want %s", got, want)
			}
		}
		a.rereads.forget(path) // read at last
		a.skipped(t.Context(), path, denied)
		if got := after(); got != 30*time.Second {
			t.Errorf("after a success: tried again after %s, want 30s", got)
		}
		a.skipped(t.Context(), path, denied)
		os.Remove(path)
		time.Sleep(time.Hour)
		a.rereads.mu.Lock()
		remembered := len(a.rereads.files)
		a.rereads.mu.Unlock()
		if len(a.changes) != 0 || remembered != 0 {
			t.Errorf("a deleted file: %d changes, %d remembered; want none", len(a.changes), remembered)
		}
	})
}
