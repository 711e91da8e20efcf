package agent

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/testbin"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// planRecorder is a Progress that records the plan as it grows.
type planRecorder struct {
	mu           sync.Mutex
	files, done  int
	bytes, sent  int64
	walked       bool
	doneByWalked int  // files done when the walk ended
	aheadOfPlan  bool // a file done that was not planned
}

func (r *planRecorder) Planned(files int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files += files
	r.bytes += bytes
}

func (r *planRecorder) Walked() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.walked, r.doneByWalked = true, r.done
}

func (r *planRecorder) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent += n
}

func (r *planRecorder) Found(int64) {}

func (r *planRecorder) FileDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	r.aheadOfPlan = r.aheadOfPlan || r.done > r.files
}

// With a Progress (the bar of a terminal), Backup uploads while it walks
// too: the plan grows as the walk finds files, each planned before it is
// sent, and it is whole when the walk ends.
func TestBackup_ProgressUploadsWhileWalking(t *testing.T) {
	a, _, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	keys := writePhotos(t, dir, 500, "alice/laptop/pictures/")
	var out testbin.Buffer
	rec := &planRecorder{}
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 2,
		Log: zerolog.New(&out), Progress: rec}
	sum, err := b.Run(context.Background())
	if err != nil || sum.Uploaded != len(keys) || len(sum.Failed) != 0 {
		t.Fatalf("backup: %d uploaded, failed %v, %v; want %d", sum.Uploaded, sum.Failed, err, len(keys))
	}
	msgs := logMessages(t, out.String())
	first, scanned := slices.Index(msgs, "uploaded"), slices.Index(msgs, "scanned")
	if first < 0 || scanned < 0 || first > scanned {
		t.Errorf("log: first upload at line %d, scanned at line %d; want an upload before the walk ends", first, scanned)
	}
	if !rec.walked || rec.doneByWalked == 0 {
		t.Errorf("walk ended: %v, with %d files done; want it ended after some were uploaded", rec.walked, rec.doneByWalked)
	}
	if rec.files != len(keys) || rec.done != len(keys) || rec.bytes != sum.Sent || rec.sent != sum.Sent || rec.aheadOfPlan {
		t.Errorf("planned %d files, %d bytes; %d done, %d bytes counted, a file done before it was planned: %v; want %d files and %d bytes each",
			rec.files, rec.bytes, rec.done, rec.sent, rec.aheadOfPlan, len(keys), sum.Sent)
	}
}
