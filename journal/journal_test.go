package journal_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

func open(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestJournal_TrackAndDone(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 123456789), Inode: 42}

	f, need, err := j.Track(ctx, "pictures", "a.jpg", id)
	if err != nil || !need || f.State != journal.Pending {
		t.Fatalf("new file: got %+v need %v err %v, want pending and needed", f, need, err)
	}
	if err := j.BeginMultipart(ctx, journal.Multipart{FileID: f.ID, Key: "k", UploadID: "u1", PartSize: 5 << 20, Identity: id}); err != nil {
		t.Fatal(err)
	}
	if err := j.SavePart(ctx, f.ID, journal.Part{Number: 1, Size: 5 << 20, ETag: `"e1"`, CRC32C: "AAAAAA=="}); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "k", ETag: "etag", SHA256: "abc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Multipart(ctx, f.ID); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("multipart after done: got %v, want ErrNotFound", err)
	}

	// Reopen: the row survives with its nanosecond mtime.
	j.Close()
	j = open(t, path)
	got, err := j.Lookup(ctx, "pictures", "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != journal.Done || !got.Identity.Equal(id) || got.SHA256 != "abc" || got.Key != "k" {
		t.Errorf("after reopen: got %+v", got)
	}
	if _, need, _ := j.Track(ctx, "pictures", "a.jpg", id); need {
		t.Error("unchanged done file: Track says it needs uploading")
	}
	changed := id
	changed.MTime = changed.MTime.Add(time.Nanosecond)
	if f, need, _ := j.Track(ctx, "pictures", "a.jpg", changed); !need || f.State != journal.Pending {
		t.Errorf("changed file: got %v %v, want pending and needed", f.State, need)
	}
}

func TestJournal_Multipart(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	f, _, _ := j.Track(ctx, "r", "v.mp4", journal.Identity{Size: 1})
	m := journal.Multipart{FileID: f.ID, Key: "k", UploadID: "u1", PartSize: 5 << 20, Started: time.Now()}
	if err := j.BeginMultipart(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 1} {
		if err := j.SavePart(ctx, f.ID, journal.Part{Number: n, Size: 5, ETag: "e", CRC32C: "c"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := j.Multipart(ctx, f.ID)
	if err != nil || got.UploadID != "u1" || len(got.Parts) != 2 || got.Parts[0].Number != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	// A new upload replaces the old one and its parts.
	m.UploadID = "u2"
	if err := j.BeginMultipart(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, _ = j.Multipart(ctx, f.ID)
	if got.UploadID != "u2" || len(got.Parts) != 0 {
		t.Errorf("after restart: got %+v", got)
	}
	ids, err := j.UploadIDs(ctx)
	if err != nil || len(ids) != 1 || ids["u2"] != "k" {
		t.Errorf("UploadIDs: got %v, %v", ids, err)
	}
	if err := j.MarkDeleted(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	// The upload of a deleted file waits to be aborted, then is forgotten.
	gone, err := j.DeletedUploads(ctx)
	if err != nil || len(gone) != 1 || gone[0].FileID != f.ID || gone[0].Key != "k" || gone[0].UploadID != "u2" {
		t.Errorf("DeletedUploads after delete: got %+v, %v", gone, err)
	}
	if err := j.EndMultipart(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Multipart(ctx, f.ID); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("after delete: got %v", err)
	}
	if gone, _ := j.DeletedUploads(ctx); len(gone) != 0 {
		t.Errorf("DeletedUploads after EndMultipart: got %+v", gone)
	}
	totals, _ := j.Totals(ctx)
	if totals[journal.Deleted].Files != 1 || totals[journal.Deleted].Bytes != 1 {
		t.Errorf("totals: %v", totals)
	}
}

func TestJournal_RefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	open(t, path).Close()
	// Bump the schema version past what this build knows.
	if err := journal.SetUserVersionForTest(path, 99); err != nil {
		t.Fatal(err)
	}
	_, err := journal.Open(context.Background(), path)
	if err == nil {
		t.Fatal("opened a journal with a newer schema")
	}
	want := "open journal " + path + ": schema version 99 is newer than this cloudkeep knows (8): upgrade cloudkeep"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestJournal_MarkGoneUnder(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	for _, p := range []string{"café/a.jpg", "café/sub/b.jpg", "cafés/c.jpg", "other/d.jpg"} {
		if _, _, err := j.Track(ctx, "r", p, journal.Identity{Size: 1}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := j.MarkGoneUnder(ctx, "r", "café")
	if err != nil || n != 2 {
		t.Fatalf("got %d, %v; want 2 rows", n, err)
	}
	for p, want := range map[string]journal.State{"café/a.jpg": journal.Deleted, "café/sub/b.jpg": journal.Deleted,
		"cafés/c.jpg": journal.Pending, "other/d.jpg": journal.Pending} {
		if f, _ := j.Lookup(ctx, "r", p); f.State != want {
			t.Errorf("%s: got %s, want %s", p, f.State, want)
		}
	}
}

// A deleted root arrives as the folder "" (the root itself): every file of
// that root is gone, and no other root's.
func TestJournal_MarkGoneUnder_WholeRoot(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	for _, f := range []struct{ root, path string }{{"r", "a.jpg"}, {"r", "sub/b.jpg"}, {"other", "c.jpg"}} {
		if _, _, err := j.Track(ctx, f.root, f.path, journal.Identity{Size: 1}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := j.MarkGoneUnder(ctx, "r", "")
	if err != nil || n != 2 {
		t.Fatalf("got %d, %v; want 2 rows", n, err)
	}
	for _, tc := range []struct {
		root, path string
		want       journal.State
	}{{"r", "a.jpg", journal.Deleted}, {"r", "sub/b.jpg", journal.Deleted}, {"other", "c.jpg", journal.Pending}} {
		if f, _ := j.Lookup(ctx, tc.root, tc.path); f.State != tc.want {
			t.Errorf("%s/%s: got %s, want %s", tc.root, tc.path, f.State, tc.want)
		}
	}
}

// Two processes (the agent and `cloudkeep status`) may open a new journal
// at the same moment.
func TestJournal_ConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			j, err := journal.Open(context.Background(), path)
			if err == nil {
				j.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
