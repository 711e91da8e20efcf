package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A photo written in place (Create, then Write events) and one moved in
// from an unwatched folder (Create alone) both reach the settler as
// changes, so both are judged by the lease after its short quiet time.
func TestWatcher_WrittenAndMovedInReachSettler(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	changes := make(chan change, 64)
	w, err := newWatcher([]Root{{Name: "r", Path: dir}}, time.Hour, changes, make(chan Root, 1), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	w.start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.run(ctx) }()
	defer func() { cancel(); <-done }()

	if err := os.WriteFile(filepath.Join(dir, "saved.jpg"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(outside, "moved.jpg"), []byte("x"), 0o644)
	if err := os.Rename(filepath.Join(outside, "moved.jpg"), filepath.Join(dir, "moved.jpg")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !seen["saved.jpg"] || !seen["moved.jpg"] {
		select {
		case c := <-changes:
			seen[c.rel] = true
		case <-timeout:
			t.Fatalf("changes seen: %v, want saved.jpg and moved.jpg", seen)
		}
	}
}

// Under systemd (INVOCATION_ID set) a root in /tmp or /var/tmp is the
// service's private one: its health and the log say why, other roots
// have no note.
func TestWatcher_PrivateTmpRootsAreNoted(t *testing.T) {
	t.Setenv("INVOCATION_ID", "0123456789abcdef")
	var log bytes.Buffer
	roots := []Root{{Name: "tmp", Path: "/tmp/photos"}, {Name: "vartmp", Path: "/var/tmp/pics"}, {Name: "srv", Path: "/srv/tmpphotos"}}
	w, err := newWatcher(roots, time.Hour, make(chan change, 1), make(chan Root, 1), zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	defer w.fs.Close()
	want := map[string]string{
		"tmp":    "/tmp is private to the service (PrivateTmp=yes): watch another folder",
		"vartmp": "/var/tmp is private to the service (PrivateTmp=yes): watch another folder",
		"srv":    "",
	}
	for _, h := range w.snapshot() {
		if h.Note != want[h.Name] {
			t.Errorf("root %s: note %q, want %q", h.Name, h.Note, want[h.Name])
		}
	}
	if got := strings.Count(log.String(), "is private to the service (PrivateTmp=yes)"); got != 2 {
		t.Errorf("log: %d lines about PrivateTmp, want 2:\n%s", got, log.String())
	}
	t.Setenv("INVOCATION_ID", "")
	if n := privateTmpNote("/tmp/photos"); n != "" {
		t.Errorf("outside systemd: note %q, want none", n)
	}
}
