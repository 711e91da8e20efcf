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
