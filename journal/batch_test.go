package journal_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// A burst of MarkDone calls shares transactions, and each call returns only
// once its row is committed: another connection to the file (what a
// process started after a crash would open) reads it done at once.
func TestJournal_MarkDoneBurst(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	const n = 200
	ids := make([]int64, n)
	for i := range n {
		f, _, err := j.Track(ctx, "r", fmt.Sprintf("%03d.jpg", i), journal.Identity{Size: int64(i), Inode: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = f.ID
	}
	other, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(4)

	before := j.CommitsForTest()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			<-start
			s := journal.Stored{Identity: journal.Identity{Size: int64(i), MTime: time.Unix(1700000000, 0), Inode: uint64(i)},
				Key: fmt.Sprintf("k/%03d.jpg", i), ETag: "e", SHA256: fmt.Sprintf("%064d", i)}
			if err := j.MarkDone(ctx, id, s); err != nil {
				t.Errorf("MarkDone %d: %v", id, err)
				return
			}
			var state, key string
			err := other.QueryRowContext(ctx, `SELECT state, object_key FROM files WHERE id = ?`, id).Scan(&state, &key)
			if err != nil || state != string(journal.Done) || key != s.Key {
				t.Errorf("file %d read by another connection once MarkDone returned: got %q %q %v, want done %s", id, state, key, err, s.Key)
			}
		})
	}
	close(start)
	wg.Wait()
	commits := j.CommitsForTest() - before
	t.Logf("%d MarkDone calls in %d transactions", n, commits)
	if commits >= n {
		t.Errorf("%d MarkDone calls at once took %d transactions, want fewer (grouped)", n, commits)
	}
	totals, err := j.Totals(ctx)
	if err != nil || totals[journal.Done].Files != n {
		t.Errorf("totals: got %+v %v, want %d done", totals, err, n)
	}
}

// A write whose context ended before its batch ran fails alone: the others
// of the batch commit.
func TestJournal_BatchedWriteCanceledAlone(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	f, _, err := j.Track(ctx, "r", "a.jpg", journal.Identity{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			c := ctx
			if i%2 == 1 {
				c = canceled
			}
			errs[i] = j.MarkUploading(c, f.ID)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if i%2 == 0 && err != nil {
			t.Errorf("call %d: %v", i, err)
		}
		if i%2 == 1 && err == nil {
			t.Errorf("call %d with a canceled context: no error", i)
		}
		if err == nil {
			ok++
		}
	}
	got, err := j.Get(ctx, f.ID)
	if err != nil || got.Attempts != ok || got.State != journal.Uploading {
		t.Errorf("got %d attempts, state %s (%v); want %d, uploading", got.Attempts, got.State, err, ok)
	}
}
