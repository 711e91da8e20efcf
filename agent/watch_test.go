package agent

import (
	"context"
	"os"
	"path/filepath"
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
