package journal_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A look at a state directory without a journal creates nothing.
func TestOpenReadOnly_NoJournal(t *testing.T) {
	dir := t.TempDir()
	_, err := journal.OpenReadOnly(context.Background(), filepath.Join(dir, journal.FileName))
	if !errors.Is(err, journal.ErrNoJournal) {
		t.Errorf("got %v, want ErrNoJournal", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("the state directory holds %v after the look, want nothing", names)
	}
}

// A journal left by a clean stop is read, and no file is added beside it
// (a root look would leave root-owned -wal and -shm files).
func TestOpenReadOnly_ReadsAndAddsNoFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, journal.FileName)
	j := open(t, path)
	id := journal.Identity{Size: 42, MTime: time.Unix(1700000000, 0), Inode: 7}
	if _, _, err := j.Track(ctx, "photos", "a.jpg", id); err != nil {
		t.Fatal(err)
	}
	j.Close()
	before := dirNames(t, dir)

	r, err := journal.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	totals, err := r.Totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := totals[journal.Pending].Files; got != 1 {
		t.Errorf("pending files: got %d, want 1", got)
	}
	if _, _, err := r.Track(ctx, "photos", "b.jpg", id); err == nil {
		t.Error("Track on a read-only journal succeeded, want an error")
	}
	r.Close()
	if after := dirNames(t, dir); !slices.Equal(after, before) {
		t.Errorf("files after the look: %v, want %v", after, before)
	}
}
