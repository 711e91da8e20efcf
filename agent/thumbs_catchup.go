package agent

import (
	"cmp"
	"context"
	"sync"
	"time"
)

// missing counts the stored photos whose thumbnail is missing.
func (t *thumbnailer) missing(ctx context.Context) (int, error) {
	n := 0
	var after int64
	for {
		rows, err := t.journal.MissingThumbs(ctx, after, 4*thumbPage)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		after = rows[len(rows)-1].ID
		for _, f := range rows {
			if _, ok := t.jobOf(f); ok {
				n++
			}
		}
	}
}

// ThumbSummary is what the thumbnail catch-up of a backup did.
type ThumbSummary struct {
	Photos  int   // stored photos whose thumbnail was missing at its start
	Done    int   // of those, handled
	Made    int   // thumbnails made and stored
	Found   int   // found stored already (made before the journal was lost, or by another device)
	Failed  int   // photos no thumbnail can be made of (corrupt): not tried again
	Stopped error // the storage error that ended the catch-up early; nil when none
}

// catchUp makes every missing thumbnail with workers at once, telling
// progress (when not nil, from one goroutine at a time) of the photos
// handled. A storage error ends it (Stopped); its error is the end of ctx.
// What is left is made on the next catch-up.
func (t *thumbnailer) catchUp(parent context.Context, workers int, progress func(done, total int)) (ThumbSummary, error) {
	var sum ThumbSummary
	total, err := t.missing(parent)
	if err != nil || total == 0 {
		return sum, cmp.Or(parent.Err(), err)
	}
	sum.Photos = total
	start := time.Now()
	t.log.Info().Int("photos", total).Int("workers", workers).Msg("making thumbnails")
	ctx, stop := context.WithCancel(parent)
	defer stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				j, ok, err := t.take(ctx)
				if !ok {
					if err != nil && ctx.Err() == nil {
						mu.Lock()
						sum.Stopped = cmp.Or(sum.Stopped, err)
						mu.Unlock()
						stop()
					}
					return
				}
				r, err := t.thumbnail(ctx, j)
				mu.Lock()
				sum.count(r)
				if r == thumbStopped && ctx.Err() == nil {
					sum.Stopped = cmp.Or(sum.Stopped, err)
					stop()
				}
				if progress != nil && r != thumbStopped {
					progress(sum.Done, total)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.log.Info().Int("made", sum.Made).Int("found", sum.Found).Int("failed", sum.Failed).
		Int("left", total-sum.Done).Int64("duration_ms", time.Since(start).Milliseconds()).Msg("thumbnails made")
	return sum, parent.Err()
}

// count adds one job that ended as r.
func (s *ThumbSummary) count(r thumbResult) {
	if r == thumbStopped {
		return
	}
	s.Done++
	switch r {
	case thumbMade:
		s.Made++
	case thumbFound:
		s.Found++
	case thumbFailed:
		s.Failed++
	}
}
