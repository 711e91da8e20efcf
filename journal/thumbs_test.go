package journal_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cloudkeep/cloudkeep/journal"
)

// stored tracks root/path and marks it done with content sha256.
func stored(t *testing.T, j *journal.Journal, path, sha256 string) journal.File {
	t.Helper()
	ctx := context.Background()
	id := journal.Identity{Size: 10, Inode: uint64(len(path))}
	f, _, err := j.Track(ctx, "r", path, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "k/" + path, SHA256: sha256}); err != nil {
		t.Fatal(err)
	}
	return f
}

// missing returns the paths MissingThumbs lists, read in pages of two.
func missing(t *testing.T, j *journal.Journal) []string {
	t.Helper()
	var out []string
	var after int64
	for {
		page, err := j.MissingThumbs(context.Background(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		for _, f := range page {
			out = append(out, f.Path)
		}
		after = page[len(page)-1].ID
	}
}

// Stored files wait for their thumbnail until their content has a row,
// made or failed; a failure never replaces a stored thumbnail.
func TestJournal_Thumbs(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	stored(t, j, "a.jpg", "aa")
	stored(t, j, "copy of a.jpg", "aa")
	stored(t, j, "b.jpg", "bb")
	stored(t, j, "broken.jpg", "cc")
	stored(t, j, "clip.mp4", "dd")
	if _, _, err := j.Track(ctx, "r", "pending.jpg", journal.Identity{Size: 1}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a.jpg", "copy of a.jpg", "b.jpg", "broken.jpg", "clip.mp4"}
	if got := missing(t, j); !slices.Equal(got, want) {
		t.Fatalf("missing %q, want %q", got, want)
	}
	if _, err := j.Thumb(ctx, "aa"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Thumb of an unrecorded content: %v, want ErrNotFound", err)
	}

	if err := j.AddThumb(ctx, "aa", "alice/.thumbs/aa.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := j.ThumbFailed(ctx, "cc", "invalid JPEG format"); err != nil {
		t.Fatal(err)
	}
	if err := j.ThumbFailed(ctx, "aa", "late failure"); err != nil {
		t.Fatal(err)
	}
	if got, want := missing(t, j), []string{"b.jpg", "clip.mp4"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	if th, err := j.Thumb(ctx, "aa"); err != nil || th != (journal.Thumb{Key: "alice/.thumbs/aa.jpg"}) {
		t.Errorf("Thumb aa: %+v %v, want the stored key kept", th, err)
	}
	if th, err := j.Thumb(ctx, "cc"); err != nil || th != (journal.Thumb{Error: "invalid JPEG format"}) {
		t.Errorf("Thumb cc: %+v %v, want the failure", th, err)
	}
	if err := j.AddThumb(ctx, "cc", "alice/.thumbs/cc.jpg"); err != nil {
		t.Fatal(err)
	}
	if th, _ := j.Thumb(ctx, "cc"); th != (journal.Thumb{Key: "alice/.thumbs/cc.jpg"}) {
		t.Errorf("Thumb cc after it was made: %+v", th)
	}
}

// A journal of schema version 5 keeps its thumbnails when it gains the
// error column.
func TestJournal_ThumbsFromVersion5(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	stored(t, j, "a.jpg", "aa")
	if err := j.AddThumb(ctx, "aa", "alice/.thumbs/aa.jpg"); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if err := journal.DropThumbErrorForTest(path); err != nil {
		t.Fatal(err)
	}
	j = open(t, path)
	if th, err := j.Thumb(ctx, "aa"); err != nil || th.Key != "alice/.thumbs/aa.jpg" {
		t.Errorf("after the upgrade: %+v %v", th, err)
	}
	if err := j.ThumbFailed(ctx, "bb", "broken"); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
}
