package freeup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/journal"
)

// stored writes a file under dir, records it done in j and returns it as
// a proven Item of group g.
func stored(t *testing.T, j *journal.Journal, dir, rel, g string) Item {
	t.Helper()
	ctx := context.Background()
	abs := filepath.Join(dir, rel)
	if err := os.WriteFile(abs, []byte("content of "+rel), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := digestFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := j.Track(ctx, "pictures", rel, d.id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: d.id, Key: "k/" + rel, SHA256: d.sha256}); err != nil {
		t.Fatal(err)
	}
	f, _ = j.Lookup(ctx, "pictures", rel)
	return Item{File: f, Abs: abs, Seen: d.id, Group: g}
}

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func stateOf(t *testing.T, j *journal.Journal, rel string) journal.State {
	t.Helper()
	f, err := j.Lookup(context.Background(), "pictures", rel)
	if err != nil {
		t.Fatal(err)
	}
	return f.State
}

// A move that fails leaves the file where it was and its row done.
func TestFree_MoveFails(t *testing.T) {
	j, dir := openJournal(t), t.TempDir()
	it := stored(t, j, dir, "a.jpg", "a")
	fail := func(string) (string, error) { return "", errors.New("disk on fire") }
	res, err := Free(context.Background(), j, Plan{Free: []Item{it}}, fail)
	if err != nil || len(res.Freed) != 0 || len(res.Failed) != 1 {
		t.Fatalf("Free: %+v, %v; want one failure", res, err)
	}
	if s := stateOf(t, j, "a.jpg"); s != journal.Done {
		t.Errorf("row after a failed move: %s, want done", s)
	}
}

// A file changed between the proof and the move stays, and so do the
// other files of its group.
func TestFree_GroupChangedSinceProof(t *testing.T) {
	j, dir := openJournal(t), t.TempDir()
	heic, mov := stored(t, j, dir, "IMG_1.HEIC", "g1"), stored(t, j, dir, "IMG_1.MOV", "g1")
	lone := stored(t, j, dir, "lone.jpg", "g2")
	if err := os.WriteFile(mov.Abs, []byte("edited, longer than before"), 0o644); err != nil {
		t.Fatal(err)
	}
	var moved []string
	move := func(p string) (string, error) { moved = append(moved, filepath.Base(p)); return Delete(p) }
	res, err := Free(context.Background(), j, Plan{Free: []Item{heic, mov, lone}}, move)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 1 || moved[0] != "lone.jpg" || len(res.Freed) != 1 || len(res.Failed) != 2 {
		t.Errorf("moved %v (freed %d, failed %d); want only lone.jpg", moved, len(res.Freed), len(res.Failed))
	}
	for rel, want := range map[string]journal.State{"IMG_1.HEIC": journal.Done, "IMG_1.MOV": journal.Done, "lone.jpg": journal.Freed} {
		if s := stateOf(t, j, rel); s != want {
			t.Errorf("%s: %s, want %s", rel, s, want)
		}
	}
}
