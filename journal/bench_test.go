package journal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/journal"
)

// benchJournal returns a journal with n done files.
func benchJournal(b *testing.B, n int) (*journal.Journal, []int64) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	seen := make([]journal.Seen, n)
	for i := range seen {
		seen[i] = journal.Seen{Path: fmt.Sprintf("%03d/IMG_%05d.jpg", i/100, i), Identity: journal.Identity{Size: int64(i), Inode: uint64(i)}}
	}
	rows, _, err := j.TrackAll(ctx, "r", seen)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, n)
	for i, f := range rows {
		ids[i] = f.ID
		if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: f.Identity, Key: "alice/laptop/r/" + f.Path, ETag: "e", SHA256: fmt.Sprintf("%064x", i)}); err != nil {
			b.Fatal(err)
		}
	}
	return j, ids
}

// BenchmarkFindContent is the uploader's look-up of a content by SHA-256
// before each upload, in a journal of 20,000 files.
func BenchmarkFindContent(b *testing.B) {
	j, _ := benchJournal(b, 20000)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := j.FindContent(ctx, fmt.Sprintf("%064x", i%40000), int64(i%40000), "alice/", ""); err != nil && err != journal.ErrNotFound {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarkUploadingDone is the journal's share of one upload
// (MarkUploading, then MarkDone), from 4 workers at once.
func BenchmarkMarkUploadingDone(b *testing.B) {
	j, ids := benchJournal(b, 1000)
	ctx := context.Background()
	b.SetParallelism(2) // 4 workers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			id := ids[i%len(ids)]
			if err := j.MarkUploading(ctx, id); err != nil {
				b.Fatal(err)
			}
			if err := j.MarkDone(ctx, id, journal.Stored{Key: "k", ETag: "e", SHA256: "s"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
