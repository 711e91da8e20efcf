package journal_test

import (
	"context"
	"path/filepath"
	"testing"
)

// The bytes sent are counted by day and kept across a reopen.
func TestJournal_SentDaily(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	if n, err := j.SentOn(ctx, "2026-11-27"); err != nil || n != 0 {
		t.Fatalf("a day with nothing sent: got %d, %v", n, err)
	}
	for _, add := range []struct {
		day string
		n   int64
	}{{"2026-11-27", 5 << 20}, {"2026-11-27", 3 << 20}, {"2026-11-28", 1}} {
		if err := j.AddSent(ctx, add.day, add.n); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	j = open(t, path)
	for day, want := range map[string]int64{"2026-11-27": 8 << 20, "2026-11-28": 1} {
		if n, err := j.SentOn(ctx, day); err != nil || n != want {
			t.Errorf("%s: got %d, %v; want %d", day, n, err, want)
		}
	}
}
