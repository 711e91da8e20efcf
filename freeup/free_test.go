package freeup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	return Item{File: f, Abs: abs, Seen: d.id, Ctime: d.ctime, Group: g}
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

// A move that fails because the file left anyway (another free-up moved
// it first) leaves the row freed: done, a running agent would take the
// file for deleted and its backup for one prune may remove.
func TestFree_MoveFailsFileGone(t *testing.T) {
	j, dir := openJournal(t), t.TempDir()
	it := stored(t, j, dir, "a.jpg", "a")
	taken := func(p string) (string, error) {
		if err := os.Rename(p, p+".elsewhere"); err != nil {
			t.Fatal(err)
		}
		return "", &os.LinkError{Op: "rename", Old: p, New: "trash", Err: os.ErrNotExist}
	}
	res, err := Free(context.Background(), j, Plan{Free: []Item{it}}, taken)
	if err != nil || len(res.Failed) != 1 {
		t.Fatalf("Free: %+v, %v; want one failure", res, err)
	}
	if msg := res.Failed[0].Err.Error(); !strings.Contains(msg, "is no longer there as it was: left marked freed, its backup kept") {
		t.Errorf("failure: %q", msg)
	}
	if s := stateOf(t, j, "a.jpg"); s != journal.Freed {
		t.Errorf("row after a failed move of a file gone: %s, want freed", s)
	}
}

// A file rewritten in place with its size, mtime and inode kept (dd
// conv=notrunc, then touch -d) since the proof stays: its ctime moved.
func TestFree_RewrittenInPlace(t *testing.T) {
	j, dir := openJournal(t), t.TempDir()
	it := stored(t, j, dir, "a.jpg", "a")
	fi, err := os.Stat(it.Abs)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a ctime tick apart on coarse clocks
	f, err := os.OpenFile(it.Abs, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 0)
	f.Close()
	os.Chtimes(it.Abs, fi.ModTime(), fi.ModTime())
	res, err := Free(context.Background(), j, Plan{Free: []Item{it}}, Delete)
	if err != nil || len(res.Freed) != 0 || len(res.Failed) != 1 || res.Failed[0].Reason != Changed {
		t.Fatalf("Free: %+v, %v; want it kept as changed", res, err)
	}
	if _, err := os.Stat(it.Abs); err != nil {
		t.Errorf("the rewritten file was taken: %v", err)
	}
}

// Two free-ups never run at once: the second is told another runs.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrRunning) {
		t.Errorf("second Lock: %v, want ErrRunning", err)
	}
	unlock()
	unlock, err = Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock()
}

// Recheck, after a long confirmation, reads the files again: one edited
// meanwhile stays with its group, even with its size, mtime and inode
// kept.
func TestRecheck(t *testing.T) {
	j, dir := openJournal(t), t.TempDir()
	heic, mov := stored(t, j, dir, "IMG_1.HEIC", "g1"), stored(t, j, dir, "IMG_1.MOV", "g1")
	lone := stored(t, j, dir, "lone.jpg", "g2")
	fi, err := os.Stat(mov.Abs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(mov.Abs, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 0)
	f.Close()
	os.Chtimes(mov.Abs, fi.ModTime(), fi.ModTime())
	p := Recheck(Plan{Free: []Item{heic, mov, lone}})
	if len(p.Free) != 1 || p.Free[0].Path != "lone.jpg" {
		t.Fatalf("free after Recheck: %+v, want only lone.jpg", p.Free)
	}
	got := map[string]Reason{}
	for _, it := range p.Kept {
		got[it.Path] = it.Reason
	}
	if got["IMG_1.MOV"] != Changed || got["IMG_1.HEIC"] != PartnerKept {
		t.Errorf("kept: %v, want IMG_1.MOV changed and IMG_1.HEIC with it", got)
	}
}
