package journal_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// freedRow stores root/path with identity id and content sha, and frees it.
func freedRow(t *testing.T, j *journal.Journal, path string, id journal.Identity, sha string) journal.File {
	t.Helper()
	ctx := context.Background()
	f, _, err := j.Track(ctx, "pictures", path, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "alice/laptop/pictures/" + path, ETag: "e", SHA256: sha}); err != nil {
		t.Fatal(err)
	}
	ok, err := j.MarkFreed(ctx, f.ID, id, sha)
	if err != nil || !ok {
		t.Fatalf("MarkFreed %s: %v, %v; want true, nil", path, ok, err)
	}
	f, err = j.Lookup(ctx, "pictures", path)
	if err != nil || f.State != journal.Freed {
		t.Fatalf("%s after MarkFreed: %+v, %v; want freed", path, f, err)
	}
	return f
}

func state(t *testing.T, j *journal.Journal, path string) journal.State {
	t.Helper()
	f, err := j.Lookup(context.Background(), "pictures", path)
	if err != nil {
		t.Fatal(err)
	}
	return f.State
}

// A freed file's absence is no deletion, however the agent learns of it:
// a watcher event (MarkGone, MarkGoneUnder) or a rescan (MarkGoneIDs).
func TestJournal_FreedIsNotGone(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	a := freedRow(t, j, "2024/a.jpg", id, "aa")
	b := freedRow(t, j, "2024/b.jpg", journal.Identity{Size: 11, MTime: id.MTime, Inode: 8}, "bb")
	if n, err := j.MarkGone(ctx, "pictures", []string{a.Path}); n != 0 || err != nil {
		t.Errorf("MarkGone: %d, %v; want 0, nil", n, err)
	}
	if n, err := j.MarkGoneIDs(ctx, "pictures", []int64{a.ID, b.ID}); n != 0 || err != nil {
		t.Errorf("MarkGoneIDs: %d, %v; want 0, nil", n, err)
	}
	if n, err := j.MarkGoneUnder(ctx, "pictures", "2024"); n != 0 || err != nil {
		t.Errorf("MarkGoneUnder: %d, %v; want 0, nil", n, err)
	}
	for _, p := range []string{a.Path, b.Path} {
		if s := state(t, j, p); s != journal.Freed {
			t.Errorf("%s: %s, want freed", p, s)
		}
	}
	if rows, err := j.Unfinished(ctx); err != nil || len(rows) != 0 {
		t.Errorf("Unfinished: %d row(s), %v; want none", len(rows), err)
	}
	tot, err := j.Totals(ctx)
	if err != nil || tot[journal.Freed].Files != 2 || tot[journal.Freed].Bytes != 21 {
		t.Errorf("Totals: %v, %v; want 2 freed files of 21 bytes", tot, err)
	}
}

// A freed file back at its path (put back from the trash) is done again
// with no upload; another file there is a new upload, which must not take
// the freed file's key unless it has its content.
func TestJournal_FreedComesBack(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	a := freedRow(t, j, "a.jpg", id, "aa")
	f, need, err := j.Track(ctx, "pictures", "a.jpg", id)
	if err != nil || need || f.State != journal.Done {
		t.Errorf("Track of the same file: %s, need %v, %v; want done, no upload", f.State, need, err)
	}
	if at, err := j.FreedAt(ctx, a.ID); err != nil || !at.IsZero() {
		t.Errorf("FreedAt once back: %v, %v; want zero", at, err)
	}

	freedRow(t, j, "b.jpg", journal.Identity{Size: 10, MTime: id.MTime, Inode: 8}, "bb")
	rows, need2, err := j.TrackAll(ctx, "pictures", []journal.Seen{{Path: "b.jpg", Identity: journal.Identity{Size: 10, MTime: id.MTime, Inode: 8}}})
	if err != nil || need2[0] || rows[0].State != journal.Done {
		t.Errorf("TrackAll of the same file: %s, need %v, %v; want done, no upload", rows[0].State, need2[0], err)
	}

	c := freedRow(t, j, "c.jpg", journal.Identity{Size: 10, MTime: id.MTime, Inode: 9}, "cc")
	other := journal.Identity{Size: 12, MTime: id.MTime.Add(time.Hour), Inode: 10}
	f, need, err = j.Track(ctx, "pictures", "c.jpg", other)
	if err != nil || !need || f.State != journal.Pending {
		t.Fatalf("Track of another file: %s, need %v, %v; want pending", f.State, need, err)
	}
	if held, err := j.KeyHeld(ctx, c.Key, "other content", f.ID); err != nil || !held {
		t.Errorf("KeyHeld(freed file's key, other content): %v, %v; want true: it holds the freed file's only copy", held, err)
	}
	if held, err := j.KeyHeld(ctx, c.Key, "cc", f.ID); err != nil || held {
		t.Errorf("KeyHeld(freed file's key, same content): %v, %v; want false", held, err)
	}
}

// MarkFreed changes only a row that still holds what was proven; Unfree
// undoes it.
func TestJournal_MarkFreedOnlyUnchanged(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	f, _, _ := j.Track(ctx, "pictures", "a.jpg", id)
	if ok, err := j.MarkFreed(ctx, f.ID, id, "aa"); ok || err != nil {
		t.Errorf("MarkFreed of a pending row: %v, %v; want false", ok, err)
	}
	j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "k", SHA256: "aa"})
	if ok, err := j.MarkFreed(ctx, f.ID, id, "other"); ok || err != nil {
		t.Errorf("MarkFreed with another hash: %v, %v; want false", ok, err)
	}
	if ok, err := j.MarkFreed(ctx, f.ID, journal.Identity{Size: 10, MTime: id.MTime, Inode: 99}, "aa"); ok || err != nil {
		t.Errorf("MarkFreed with another identity: %v, %v; want false", ok, err)
	}
	if ok, err := j.MarkFreed(ctx, f.ID, id, "aa"); !ok || err != nil {
		t.Fatalf("MarkFreed: %v, %v; want true", ok, err)
	}
	if at, err := j.FreedAt(ctx, f.ID); err != nil || at.IsZero() {
		t.Errorf("FreedAt: %v, %v; want a time", at, err)
	}
	if err := j.Unfree(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if s := state(t, j, "a.jpg"); s != journal.Done {
		t.Errorf("after Unfree: %s, want done", s)
	}
}
