package journal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// spans lists live_keys as "key from-to" with the instants as offsets
// from t0 in seconds ("-" for an open span).
func spans(t *testing.T, j *journal.Journal, t0 time.Time) string {
	t.Helper()
	var out []string
	err := j.LiveKeys(context.Background(), func(k journal.LiveKey) error {
		to := "-"
		if !k.To.IsZero() {
			to = fmt.Sprint(int(k.To.Sub(t0).Seconds()))
		}
		out = append(out, fmt.Sprintf("%s %d-%s %d", k.Key, int(k.From.Sub(t0).Seconds()), to, k.Size))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// A stored file's key opens a span; the key of a file deleted (or renamed
// away) closes; a file that holds it again opens a new one; nothing
// changed, nothing written.
func TestSyncLiveKeys(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Now().Add(time.Hour) // after the upload times MarkRestored records
	sync := func(sec int, wantChanged bool) {
		t.Helper()
		changed, err := j.SyncLiveKeys(ctx, t0.Add(time.Duration(sec)*time.Second))
		if err != nil || changed != wantChanged {
			t.Fatalf("sync at %ds: changed %v, %v; want %v", sec, changed, err, wantChanged)
		}
	}
	store := func(rel string, size int64) {
		t.Helper()
		err := j.MarkRestored(ctx, "pictures", rel, journal.Stored{Identity: journal.Identity{Size: size, Inode: uint64(size)},
			Key: "alice/laptop/pictures/" + rel, SHA256: strings.Repeat("a", 64)})
		if err != nil {
			t.Fatal(err)
		}
	}
	store("a.jpg", 1)
	store("b.jpg", 2)
	sync(0, true)
	// Their spans begin when they were stored, before the first sync.
	if s := spans(t, j, t0); !strings.Contains(s, "a.jpg -") || !strings.HasSuffix(s, "- 2") {
		t.Fatalf("after the first sync: %s", s)
	}
	sync(1, false)
	if _, err := j.MarkGone(ctx, "pictures", []string{"b.jpg"}); err != nil {
		t.Fatal(err)
	}
	sync(10, true)
	store("b.jpg", 3) // back, with other bytes
	store("a.jpg", 5) // changed in place
	sync(20, true)
	got := spans(t, j, t0)
	// a.jpg: one span, its size followed; b.jpg: closed at 10, open again at 20.
	a, b, _ := strings.Cut(got, "; alice/laptop/pictures/b.jpg")
	if !strings.HasSuffix(a, "- 5") || !strings.HasPrefix(a, "alice/laptop/pictures/a.jpg ") || !strings.Contains(b, "-10 2; alice/laptop/pictures/b.jpg 20-- 3") {
		t.Errorf("spans: %s", got)
	}
	// A key live again is not forgotten; one gone is, with all its spans.
	forget := func() {
		t.Helper()
		if err := j.ForgetLiveKeys(ctx, []string{"alice/laptop/pictures/b.jpg"}); err != nil {
			t.Fatal(err)
		}
	}
	forget()
	if after := spans(t, j, t0); after != got {
		t.Errorf("forgetting a live key: %s, want %s", after, got)
	}
	if _, err := j.MarkGone(ctx, "pictures", []string{"b.jpg"}); err != nil {
		t.Fatal(err)
	}
	sync(30, true)
	forget()
	if after := spans(t, j, t0); strings.Contains(after, "b.jpg") || !strings.Contains(after, "a.jpg") {
		t.Errorf("forgetting b.jpg: %s; want a.jpg alone", after)
	}
}

// A freed file's key stays live when another file takes its path (a
// camera that numbers from IMG_0001 again) and is stored under another
// key; a freed file back from the trash holds its key as any file does.
func TestSyncLiveKeys_FreedRowTaken(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Now().Add(time.Hour)
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	f := freedRow(t, j, "IMG_0001.JPG", id, "aa")
	back := freedRow(t, j, "IMG_0002.JPG", journal.Identity{Size: 11, MTime: id.MTime, Inode: 8}, "bb")

	// Another file at IMG_0001.JPG: its row begins anew, stored elsewhere.
	other := journal.Identity{Size: 20, MTime: time.Unix(1800000000, 0), Inode: 9}
	g, need, err := j.Track(ctx, "pictures", "IMG_0001.JPG", other)
	if err != nil || !need || g.ID != f.ID {
		t.Fatalf("Track of a new file over a freed row: %+v, %v, %v", g, need, err)
	}
	newKey := "alice/laptop/pictures/IMG_0001~9e1b776b.JPG"
	if err := j.MarkDone(ctx, g.ID, journal.Stored{Identity: other, Key: newKey, ETag: "e", SHA256: "cc"}); err != nil {
		t.Fatal(err)
	}
	// IMG_0002.JPG back from the trash, then deleted.
	if _, _, err := j.Track(ctx, "pictures", "IMG_0002.JPG", back.Identity); err != nil {
		t.Fatal(err)
	}
	if _, err := j.MarkGone(ctx, "pictures", []string{"IMG_0002.JPG"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.SyncLiveKeys(ctx, t0); err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	err = j.LiveKeys(ctx, func(k journal.LiveKey) error {
		open[k.Key] = k.To.IsZero()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{f.Key: true, newKey: true, back.Key: false}
	for k, live := range want {
		if open[k] != live {
			t.Errorf("%s: live %v, want %v; all: %v", k, open[k], live, open)
		}
	}
}
