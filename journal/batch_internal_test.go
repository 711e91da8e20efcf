package journal

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// A write that fails inside a shared transaction fails alone: its change
// is undone, the others of its batch are committed.
func TestCommitter_FailedWriteFailsAlone(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	f, _, err := j.Track(ctx, "r", "a.jpg", Identity{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	const n = 100
	// A first write holds the committer until the others are queued, so
	// that they make one batch.
	var queued sync.WaitGroup
	queued.Add(n)
	hold := make(chan error)
	go func() {
		hold <- j.commit.do(ctx, func(context.Context, *sql.Tx) error { queued.Wait(); return nil })
	}()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			queued.Done()
			errs[i] = j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE files SET attempts = attempts + 1 WHERE id = ?`, f.ID); err != nil {
					return err
				}
				if i == 7 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	if err := <-hold; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch {
		case i == 7 && !errors.Is(err, boom):
			t.Errorf("write %d: got %v, want %v", i, err, boom)
		case i != 7 && err != nil:
			t.Errorf("write %d: got %v, want nil", i, err)
		}
	}
	got, err := j.Get(ctx, f.ID)
	if err != nil || got.Attempts != n-1 {
		t.Errorf("attempts: got %d (%v), want %d: every write but the failed one", got.Attempts, err, n-1)
	}
}
