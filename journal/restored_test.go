package journal_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// A file restored in place is done: Track finds nothing to upload, and a
// later change of the file still counts.
func TestJournal_MarkRestored(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	old, _, err := j.Track(ctx, "pictures", "a.jpg", journal.Identity{Size: 3, Inode: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.BeginMultipart(ctx, journal.Multipart{FileID: old.ID, Key: "k", UploadID: "u", PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.jpg", "new.jpg"} { // an existing row, a new one
		s := journal.Stored{Identity: id, Key: "alice/laptop/pictures/" + name, ETag: "e", SHA256: "abc"}
		if err := j.MarkRestored(ctx, "pictures", name, s); err != nil {
			t.Fatal(err)
		}
		f, need, err := j.Track(ctx, "pictures", name, id)
		if err != nil || need || f.State != journal.Done || f.Key != s.Key || f.SHA256 != "abc" {
			t.Errorf("%s: got %+v need %v err %v, want done at %s", name, f, need, err, s.Key)
		}
	}
	if _, err := j.Multipart(ctx, old.ID); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("upload in flight after restore: got %v, want ErrNotFound", err)
	}
	changed := id
	changed.Size++
	if _, need, _ := j.Track(ctx, "pictures", "a.jpg", changed); !need {
		t.Error("a restored file changed later: Track says nothing to upload")
	}
}

func TestJournal_FindContent(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 0), Inode: 7}
	done := func(path, sum string, state journal.State) {
		t.Helper()
		f, _, err := j.Track(ctx, "pictures", path, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "alice/laptop/pictures/" + path, ETag: "e-" + path, SHA256: sum}); err != nil {
			t.Fatal(err)
		}
		if state == journal.Deleted {
			j.MarkDeleted(ctx, f.ID)
		}
	}
	done("a.jpg", "aaa", journal.Done)
	done("gone.jpg", "ggg", journal.Deleted)
	if _, _, err := j.Track(ctx, "pictures", "pending.jpg", id); err != nil { // no sha256 yet
		t.Fatal(err)
	}
	if err := j.AddRestored(ctx, journal.Restored{Path: "/home/a/r.jpg", Identity: id, SHA256: "rrr",
		Key: "alice/phone/camera/r.jpg", ETag: "e-r"}); err != nil {
		t.Fatal(err)
	}
	if err := j.AddRestored(ctx, journal.Restored{Path: "/home/a/a.jpg", Identity: id, SHA256: "aaa",
		Key: "alice/phone/camera/a.jpg", ETag: "e-ra"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sum      string
		size           int64
		prefix, except string
		want           journal.Source
	}{
		{"a stored file first", "aaa", 10, "alice/", "", journal.Source{Key: "alice/laptop/pictures/a.jpg", ETag: "e-a.jpg"}},
		{"not the key being stored", "aaa", 10, "alice/", "alice/laptop/pictures/a.jpg", journal.Source{Key: "alice/phone/camera/a.jpg", ETag: "e-ra"}},
		{"deleted locally, still stored", "ggg", 10, "alice/", "", journal.Source{Key: "alice/laptop/pictures/gone.jpg", ETag: "e-gone.jpg"}},
		{"restored", "rrr", 10, "alice/", "", journal.Source{Key: "alice/phone/camera/r.jpg", ETag: "e-r"}},
		{"other size", "aaa", 11, "alice/", "", journal.Source{}},
		{"other account", "aaa", 10, "bob/", "", journal.Source{}},
		{"unknown", "zzz", 10, "", "", journal.Source{}},
		{"no hash is no match", "", 10, "", "", journal.Source{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := j.FindContent(ctx, tc.sum, tc.size, tc.prefix, tc.except)
			if tc.want == (journal.Source{}) {
				if !errors.Is(err, journal.ErrNotFound) {
					t.Errorf("got %+v, %v, want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v, want %+v", got, err, tc.want)
			}
		})
	}
}

// FindContent is one query that searches both tables by their sha256
// indexes, never a scan.
func TestJournal_FindContentUsesIndexes(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	plan, err := j.FindContentPlanForTest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SEARCH files USING INDEX files_sha256", "SEARCH restored USING INDEX restored_sha256"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan:\n%s\nwant %q", plan, want)
		}
	}
}
