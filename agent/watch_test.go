package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// A folder holding .nomedia or .nobackup is watched only to see the marker
// go: files written in it are not reported, its sub-folders are not
// watched. A marker created live stops the reports at once; removing it
// watches the folders below again and asks for a rescan of the root, which
// finds the files to back up.
func TestWatcher_FolderMarkers(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"chats/sub", "DCIM", "live"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "chats", ".nomedia"), nil, 0o644)
	changes, rescans := make(chan change, 64), make(chan Root, 4)
	var log bytes.Buffer
	w, err := newWatcher([]Root{{Name: "r", Path: dir}}, time.Hour, changes, rescans, zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	w.start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			cancel()
			<-done
			stopped = true
		}
	}
	defer stop()

	watched := func(rel string) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		_, ok := w.dirs[filepath.Join(dir, rel)]
		return ok
	}
	if !watched("chats") || watched("chats/sub") {
		t.Errorf("at start: chats watched %v, chats/sub watched %v; want true, false", watched("chats"), watched("chats/sub"))
	}
	// next writes the files, then a barrier file, and returns the paths
	// reported up to the barrier: events are handled in order.
	n := 0
	next := func(rels ...string) []string {
		n++
		barrier := fmt.Sprintf("DCIM/barrier%d.jpg", n)
		for _, rel := range append(rels, barrier) {
			if err := os.WriteFile(filepath.Join(dir, rel), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		timeout := time.After(10 * time.Second)
		for {
			select {
			case c := <-changes:
				if c.rel == barrier {
					return got
				}
				if !strings.HasPrefix(c.rel, "DCIM/barrier") && !slices.Contains(got, c.rel) {
					got = append(got, c.rel)
				}
			case <-timeout:
				t.Fatalf("no change for %s; got %q", barrier, got)
			}
		}
	}
	if got := next("chats/a.jpg", "DCIM/b.jpg"); !slices.Equal(got, []string{"DCIM/b.jpg"}) {
		t.Errorf("with chats/.nomedia: reported %q, want DCIM/b.jpg only", got)
	}

	// Created live, in any case: nothing more from that folder.
	os.WriteFile(filepath.Join(dir, "live", ".NoBackup"), nil, 0o644)
	waitRescan(t, rescans)
	if got := next("live/c.jpg"); len(got) != 0 {
		t.Errorf("with live/.NoBackup: reported %q, want nothing", got)
	}

	// Removed: the folder below is watched again and the root rescanned.
	os.Remove(filepath.Join(dir, "chats", ".nomedia"))
	waitRescan(t, rescans)
	if !watched("chats/sub") {
		t.Error("chats/sub not watched after .nomedia was removed")
	}
	if got := next("chats/sub/d.jpg", "chats/e.jpg"); !slices.Equal(got, []string{"chats/sub/d.jpg", "chats/e.jpg"}) {
		t.Errorf("after .nomedia went: reported %q, want chats/sub/d.jpg and chats/e.jpg", got)
	}
	stop()
	if want := `"path":"chats","message":"folder backed up again: .nomedia removed"`; strings.Count(log.String(), want) != 1 {
		t.Errorf("log lacks one %s:\n%s", want, log.String())
	}
}

func waitRescan(t *testing.T, rescans <-chan Root) {
	t.Helper()
	select {
	case <-rescans:
	case <-time.After(10 * time.Second):
		t.Fatal("no rescan asked for")
	}
}
