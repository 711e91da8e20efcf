package journal_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

func TestJournal_MarkDone_Capture(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: 1}
	f, _, err := j.Track(ctx, "pictures", "IMG_0001.HEIC", id)
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Date(2024, 1, 31, 14, 5, 0, 0, time.FixedZone("", 9*3600))
	err = j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "alice/2024/01/IMG_0001.HEIC", SHA256: "aa",
		Capture: taken, CaptureSource: "exif", Group: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	c, src, group, err := j.CaptureForTest(f.ID)
	if err != nil || c != "2024-01-31T14:05:00+09:00" || src != "exif" || group != "0123456789abcdef" {
		t.Errorf("got capture %q source %q group %q err %v, want 2024-01-31T14:05:00+09:00 exif 0123456789abcdef", c, src, group, err)
	}
}

// A key is held by another row whose content differs, whatever its state
// (a deleted file's object is still its backup), and by another file's
// upload in flight; never by the same content nor by the asking row.
func TestJournal_KeyHeld(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	row := func(path string, inode uint64) int64 {
		f, _, err := j.Track(ctx, "pictures", path, journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: inode})
		if err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	a, b, c := row("a/IMG_1.JPG", 1), row("b/IMG_1.JPG", 2), row("c/IMG_1.JPG", 3)
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: 1}
	if err := j.MarkDone(ctx, a, journal.Stored{Identity: id, Key: "k", SHA256: "aa"}); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDeleted(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := j.BeginMultipart(ctx, journal.Multipart{FileID: c, Key: "m", UploadID: "u", PartSize: 5 << 20, Identity: id, SHA256: "cc"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, sha string
		except   int64
		want     bool
	}{
		{"k", "bb", b, true},  // a deleted row's content
		{"k", "aa", b, false}, // the same content
		{"k", "bb", a, false}, // its own row
		{"m", "bb", b, true},  // an upload in flight
		{"m", "cc", b, false}, // of the same content
		{"free", "bb", b, false},
	} {
		got, err := j.KeyHeld(ctx, tc.key, tc.sha, tc.except)
		if err != nil || got != tc.want {
			t.Errorf("KeyHeld(%q, %q, %d) = %v, %v, want %v", tc.key, tc.sha, tc.except, got, err, tc.want)
		}
	}
}

// A skipped file is neither uploaded nor tried again while it is
// unchanged; a change makes it pending, and so does another media.since.
func TestJournal_Skipped(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: 1}
	f, _, err := j.Track(ctx, "pictures", "old.jpg", id)
	if err != nil {
		t.Fatal(err)
	}
	reason := "captured 2019-05-01, before media.since 2024-01-01"
	if err := j.MarkSkipped(ctx, f.ID, reason); err != nil {
		t.Fatal(err)
	}
	if got, need, err := j.Track(ctx, "pictures", "old.jpg", id); err != nil || need || got.State != journal.Skipped || got.LastError != reason {
		t.Errorf("unchanged: got %s %q need %v err %v, want skipped, not needed", got.State, got.LastError, need, err)
	}
	if rows, _, err := j.TrackAll(ctx, "pictures", []journal.Seen{{Path: "old.jpg", Identity: id}}); err != nil || rows[0].State != journal.Skipped {
		t.Errorf("TrackAll: got %+v err %v, want skipped", rows, err)
	}
	if un, err := j.Unfinished(ctx); err != nil || len(un) != 0 {
		t.Errorf("Unfinished = %d rows, %v; want none", len(un), err)
	}
	tot, err := j.Totals(ctx)
	if err != nil || tot[journal.Skipped].Files != 1 {
		t.Errorf("Totals = %v, %v; want 1 skipped", tot, err)
	}
	if n, err := j.PendSkipped(ctx, "before media.since 2024-01-01"); err != nil || n != 0 {
		t.Errorf("same media.since: PendSkipped = %d, %v; want 0", n, err)
	}
	if n, err := j.PendSkipped(ctx, "before media.since 2023-01-01"); err != nil || n != 1 {
		t.Errorf("another media.since: PendSkipped = %d, %v; want 1", n, err)
	}
	if err := j.MarkSkipped(ctx, f.ID, reason); err != nil {
		t.Fatal(err)
	}
	changed := id
	changed.Size = 11
	if got, need, err := j.Track(ctx, "pictures", "old.jpg", changed); err != nil || !need || got.State != journal.Pending {
		t.Errorf("changed: got %s need %v err %v, want pending, needed", got.State, need, err)
	}
}
