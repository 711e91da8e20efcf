package journal_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// A changed file owns the key of its earlier content, and a change
// replaces it there. A file recreated after a delete, or another tracked
// file moved over it, does not: that key holds another file's backup
// (KeyHeld answers true for the row itself), until the new content is
// stored.
func TestJournal_OwnKey(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	at := time.Unix(1700000000, 0)
	store := func(path string, id journal.Identity, key, sum string) int64 {
		t.Helper()
		f, _, err := j.Track(ctx, "pictures", path, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: key, SHA256: sum}); err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	check := func(what string, id int64, key, sum, wantOwn string, wantHeld bool) {
		t.Helper()
		own, err := j.OwnKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		held, err := j.KeyHeld(ctx, key, sum, id)
		if err != nil {
			t.Fatal(err)
		}
		if own != wantOwn || held != wantHeld {
			t.Errorf("%s: OwnKey %q, KeyHeld %v; want %q, %v", what, own, held, wantOwn, wantHeld)
		}
	}

	// Edited in place, or by an editor writing a new file over it (a new
	// inode no tracked file has): its own key.
	ed := store("ED.JPG", journal.Identity{Size: 10, MTime: at, Inode: 1}, "k/ED.JPG", "e1")
	if _, _, err := j.Track(ctx, "pictures", "ED.JPG", journal.Identity{Size: 11, MTime: at.Add(time.Second), Inode: 1}); err != nil {
		t.Fatal(err)
	}
	check("edited in place", ed, "k/ED.JPG", "e2", "k/ED.JPG", false)
	if _, _, err := j.Track(ctx, "pictures", "ED.JPG", journal.Identity{Size: 12, MTime: at.Add(2 * time.Second), Inode: 99}); err != nil {
		t.Fatal(err)
	}
	check("replaced by an editor's new file", ed, "k/ED.JPG", "e3", "k/ED.JPG", false)

	// Deleted, then another file at the path: not its own.
	del := store("DEL.JPG", journal.Identity{Size: 10, MTime: at, Inode: 2}, "k/DEL.JPG", "d1")
	if err := j.MarkDeleted(ctx, del); err != nil {
		t.Fatal(err)
	}
	if _, _, err := j.Track(ctx, "pictures", "DEL.JPG", journal.Identity{Size: 20, MTime: at.Add(time.Hour), Inode: 3}); err != nil {
		t.Fatal(err)
	}
	check("recreated", del, "k/DEL.JPG", "d2", "", true)
	check("recreated with the same content", del, "k/DEL.JPG", "d1", "", false)
	// Once the new content is stored, the row owns its new key.
	if err := j.MarkDone(ctx, del, journal.Stored{Identity: journal.Identity{Size: 20, MTime: at.Add(time.Hour), Inode: 3}, Key: "k/DEL~d2.JPG", SHA256: "d2"}); err != nil {
		t.Fatal(err)
	}
	check("recreated, then stored", del, "k/DEL~d2.JPG", "d3", "k/DEL~d2.JPG", false)

	// RA moved over RB: RB's key holds RB's backup, not an earlier RA.
	raID := journal.Identity{Size: 30, MTime: at, Inode: 4}
	store("RA.JPG", raID, "k/RA.JPG", "ra")
	rb := store("RB.JPG", journal.Identity{Size: 40, MTime: at, Inode: 5}, "k/RB.JPG", "rb")
	if _, err := j.MarkGone(ctx, "pictures", []string{"RA.JPG"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := j.Track(ctx, "pictures", "RB.JPG", raID); err != nil {
		t.Fatal(err)
	}
	check("moved over", rb, "k/RB.JPG", "ra", "", true)
}
