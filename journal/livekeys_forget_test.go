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

// A pruned key stays forgotten (a manifest written before the prune must
// not bring it back) until a file holds it again; OpenKeys says which keys
// a file holds now.
func TestForgottenKeys(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const p = "alice/laptop/pictures/"
	t0 := time.Now().Add(time.Hour)
	for i, rel := range []string{"a.jpg", "b.jpg"} {
		err := j.MarkRestored(ctx, "pictures", rel, journal.Stored{Identity: journal.Identity{Size: int64(i + 1), Inode: uint64(i + 1)},
			Key: p + rel, SHA256: strings.Repeat("a", 64)})
		if err != nil {
			t.Fatal(err)
		}
	}
	sync := func(sec int) {
		t.Helper()
		if _, err := j.SyncLiveKeys(ctx, t0.Add(time.Duration(sec)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	sync(0)
	if _, err := j.MarkGone(ctx, "pictures", []string{"b.jpg"}); err != nil {
		t.Fatal(err)
	}
	sync(10)
	open, err := j.OpenKeys(ctx, []string{p + "a.jpg", p + "b.jpg", p + "c.jpg"})
	if err != nil || fmt.Sprint(open) != "map["+p+"a.jpg:true]" {
		t.Errorf("open keys: %v %v", open, err)
	}
	if err := j.ForgetLiveKeys(ctx, []string{p + "a.jpg", p + "b.jpg"}); err != nil {
		t.Fatal(err)
	}
	got, err := j.ForgottenKeys(ctx)
	if err != nil || fmt.Sprint(got) != "map["+p+"b.jpg:true]" {
		t.Errorf("forgotten: %v %v, want b.jpg alone (a.jpg is live)", got, err)
	}
	if s := spans(t, j, t0); strings.Contains(s, "b.jpg") || !strings.Contains(s, "a.jpg") {
		t.Errorf("spans after forgetting: %s", s)
	}
	// Forgetting again is harmless; a file holding b.jpg again ends it.
	if err := j.ForgetLiveKeys(ctx, []string{p + "b.jpg"}); err != nil {
		t.Fatal(err)
	}
	err = j.MarkRestored(ctx, "pictures", "b.jpg", journal.Stored{Identity: journal.Identity{Size: 3, Inode: 3},
		Key: p + "b.jpg", SHA256: strings.Repeat("b", 64)})
	if err != nil {
		t.Fatal(err)
	}
	sync(20)
	if got, err := j.ForgottenKeys(ctx); err != nil || len(got) != 0 {
		t.Errorf("forgotten after b.jpg came back: %v %v", got, err)
	}
	if s := spans(t, j, t0); !strings.Contains(s, "b.jpg 20--") {
		t.Errorf("spans after b.jpg came back: %s", s)
	}
}
