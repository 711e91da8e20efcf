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
	n, err := j.Repend(ctx, ids)
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
