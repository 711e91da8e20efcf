package journal_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

func TestJournal_RowsAndRepend(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	var ids []int64
	for i, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: uint64(i + 1)}
		f, _, err := j.Track(ctx, "pictures", name, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "k/" + name, ETag: "e", SHA256: "s"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if err := j.MarkDeleted(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	n, err := j.Repend(ctx, ids, nil)
	if err != nil || n != 2 {
		t.Fatalf("Repend: got %d, %v; want 2 (the deleted row is left)", n, err)
	}
	got := map[string]journal.State{}
	err = j.Rows(ctx, func(r journal.Row) error {
		got[r.Path] = r.State
		if r.Key != "k/"+r.Path || r.SHA256 != "s" || !r.FreedAt.IsZero() {
			t.Errorf("row %+v", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]journal.State{"a.jpg": journal.Pending, "b.jpg": journal.Pending, "c.jpg": journal.Deleted}
	for p, s := range want {
		if got[p] != s {
			t.Errorf("%s: got %s, want %s", p, got[p], s)
		}
	}
}

// A row whose key another device took loses it, so that its upload is
// placed anew; OwnKey then gives nothing to replace.
func TestJournal_RependNewKey(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: 1}
	f, _, err := j.Track(ctx, "pictures", "a.jpg", id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "ann/2024/01/a.jpg", ETag: "e", SHA256: "s"}); err != nil {
		t.Fatal(err)
	}
	if n, err := j.Repend(ctx, []int64{f.ID}, map[int64]bool{f.ID: true}); err != nil || n != 1 {
		t.Fatalf("Repend: got %d, %v; want 1", n, err)
	}
	got, err := j.Get(ctx, f.ID)
	if err != nil || got.State != journal.Pending || got.Key != "" || got.ETag != "" {
		t.Fatalf("got %+v, %v; want pending without a key", got, err)
	}
	if key, err := j.OwnKey(ctx, f.ID); err != nil || key != "" {
		t.Errorf("OwnKey: got %q, %v; want none", key, err)
	}
	if held, err := j.KeyHeld(ctx, "ann/2024/01/a.jpg", "other", 0); err != nil || held {
		t.Errorf("KeyHeld: got %v, %v; want the key free", held, err)
	}
}
