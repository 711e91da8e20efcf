package journal_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// The settler and a rescan can see one new file at the same moment: every
// Track of it succeeds and names the same row, whether the calls share a
// connection or come from two handles on the same database.
func TestJournal_TrackConcurrentNewFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	handles := []*journal.Journal{open(t, path), open(t, path)}
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}

	// One burst often passes by luck even when Track is not atomic: several
	// new files make a lost race all but certain.
	for file := range 20 {
		name := fmt.Sprintf("new-%d.jpg", file)
		want := trackBurst(t, handles, name, id)
		got, err := handles[0].Lookup(ctx, "pictures", name)
		if err != nil || got.ID != want || got.State != journal.Pending || !got.Identity.Equal(id) {
			t.Fatalf("%s after the burst: got %+v, %v; want id %d pending with the tracked identity", name, got, err, want)
		}
	}
}

// trackBurst calls Track 128 times at once for a new file and returns the
// row id all of them name.
func trackBurst(t *testing.T, handles []*journal.Journal, name string, id journal.Identity) int64 {
	t.Helper()
	const n = 128
	var wg sync.WaitGroup
	start := make(chan struct{})
	ids := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			f, need, err := handles[i%len(handles)].Track(context.Background(), "pictures", name, id)
			if err == nil && !need {
				err = errors.New("need = false for a file never stored")
			}
			ids[i], errs[i] = f.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("%s: Track #%d: got error %v, want none", name, i, errs[i])
		}
		if ids[i] != ids[0] || ids[i] == 0 {
			t.Fatalf("%s: Track #%d: got row id %d, want %d (non-zero) like the first", name, i, ids[i], ids[0])
		}
	}
	return ids[0]
}

// Track's answers for a row that exists: a stored file with the same
// identity needs nothing; a changed or deleted one goes back to pending.
func TestJournal_TrackExisting(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10, MTime: time.Unix(1700000000, 5), Inode: 7}
	changed := journal.Identity{Size: 11, MTime: time.Unix(1700000001, 0), Inode: 7}
	f, _, err := j.Track(ctx, "r", "a.jpg", id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.MarkDone(ctx, f.ID, journal.Stored{Identity: id, Key: "k", SHA256: "h"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		before    func() error
		id        journal.Identity
		wantNeed  bool
		wantState journal.State
	}{
		{"done, same identity", nil, id, false, journal.Done},
		{"changed", nil, changed, true, journal.Pending},
		{"pending, same identity", nil, changed, true, journal.Pending},
		{"deleted", func() error { return j.MarkDeleted(ctx, f.ID) }, changed, true, journal.Pending},
	}
	for _, s := range steps {
		if s.before != nil {
			if err := s.before(); err != nil {
				t.Fatal(err)
			}
		}
		got, need, err := j.Track(ctx, "r", "a.jpg", s.id)
		if err != nil || need != s.wantNeed || got.State != s.wantState || got.ID != f.ID || !got.Identity.Equal(s.id) {
			t.Errorf("%s: got %+v need %v err %v; want id %d, need %v, state %s", s.name, got, need, err, f.ID, s.wantNeed, s.wantState)
		}
		if s.wantState == journal.Done && (got.Key != "k" || got.SHA256 != "h") {
			t.Errorf("%s: got key %q sha %q, want the stored record kept", s.name, got.Key, got.SHA256)
		}
	}
}

// Multipart reads an upload and its parts together: while the upload is
// replaced over and over, every read sees parts of the upload it names.
func TestJournal_MultipartConsistentWhileReplaced(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	id := journal.Identity{Size: 10 << 20, MTime: time.Unix(1700000000, 0), Inode: 3}
	f, _, err := j.Track(ctx, "r", "clip.mp4", id)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for n := range 200 {
			upload := fmt.Sprintf("u%d", n)
			if err := j.BeginMultipart(ctx, journal.Multipart{FileID: f.ID, Key: "k", UploadID: upload, PartSize: 5 << 20, Identity: id}); err != nil {
				t.Error(err)
				return
			}
			for p := 1; p <= 2; p++ {
				if err := j.SavePart(ctx, f.ID, journal.Part{Number: p, Size: 5 << 20, ETag: fmt.Sprintf("%s-%d", upload, p)}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for reads := 0; ; reads++ {
				select {
				case <-done:
					return
				default:
				}
				m, err := j.Multipart(ctx, f.ID)
				if errors.Is(err, journal.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				for _, p := range m.Parts {
					if want := fmt.Sprintf("%s-%d", m.UploadID, p.Number); p.ETag != want {
						t.Errorf("read %d: upload %s has part %d with etag %q, want %q", reads, m.UploadID, p.Number, p.ETag, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
