package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// Backup is one pass over every root: it uploads each media file that is
// new or changed since the journal last saw it.
type Backup struct {
	Roots    []Root
	Filter   *media.Filter
	Keys     KeyTemplate
	Journal  *journal.Journal
	Uploader *uploader.Uploader
	Files    int    // files uploaded at once
	StateDir string // holds the journal; named when its disk is full
	Log      zerolog.Logger
	Progress Progress // may be nil
}

// Progress is told what a Backup plans and does, e.g. to draw a bar.
type Progress interface {
	Planned(files int, bytes int64)
	Add(bytes int64)   // bytes sent (negative: a failed request taken back)
	Found(bytes int64) // bytes the storage already holds: done, not sent (negative: taken back)
	FileDone()
}

// Summary is the outcome of a Backup.
type Summary struct {
	Scanned       int   // media files found
	Unchanged     int   // backed up before and unchanged since, by the journal
	Uploaded      int   // sent now
	Copied        int   // copied on the server from the key that held them (renamed files)
	AlreadyStored int   // found in the storage with the same content: nothing sent
	Vanished      int   // deleted before their upload
	Interrupted   int   // cut short by the end of the pass: they resume on the next
	Sent          int64 // bytes sent
	Failed        []Failure
	StateFull     error // the state disk filled up and stopped the pass: no file failed
}

// Failure is a file that could not be backed up, and why.
type Failure struct {
	Path string
	Err  error
}

// Run makes the pass. Its error is only for a pass that could not run at
// all; files that failed are in Summary.Failed.
func (b *Backup) Run(ctx context.Context) (Summary, error) {
	if err := abortStale(ctx, b.Keys, b.Journal, b.Uploader); err != nil && ctx.Err() == nil {
		b.Log.Warn().Str("error", storage.Short(err)).Msg("could not clean up stale uploads")
	}
	var sum Summary
	jobs, err := b.plan(ctx, &sum)
	if err != nil {
		return sum, err
	}
	if b.Progress != nil {
		var total int64
		for _, j := range jobs {
			total += j.file.Size
		}
		b.Progress.Planned(len(jobs), total)
	}
	b.upload(ctx, jobs, &sum)
	return sum, ctx.Err()
}

// abortStale aborts incomplete uploads under this device's prefix that the
// journal does not know: left by a crash before they were journaled.
func abortStale(ctx context.Context, keys KeyTemplate, j *journal.Journal, up *uploader.Uploader) error {
	if !keys.Ready() {
		return nil // signed out: no prefix is ours yet
	}
	prefix := keys.Prefix()
	if prefix == "" {
		return nil // keys are not scoped to this device: nothing is safely ours
	}
	keep, err := j.UploadIDs(ctx)
	if err == nil {
		_, err = up.AbortStale(ctx, prefix, keep)
	}
	return err
}

// plan walks the roots and returns the files to upload, smallest first so
// that a big video does not hold back the photos.
func (b *Backup) plan(ctx context.Context, sum *Summary) ([]job, error) {
	s := &scanner{journal: b.Journal, filter: b.Filter, keys: b.Keys, log: b.Log, uploader: b.Uploader}
	var jobs []job
	full := false
	onErr := func(path string, err error) {
		switch {
		case !isDiskFull(err):
			sum.Failed = append(sum.Failed, Failure{path, err})
		case !full: // said once for every file
			full = true
			sum.StateFull = b.stateFullError(err)
		}
	}
	for _, root := range b.Roots {
		st, err := s.scanRoot(ctx, root, func(j job) { jobs = append(jobs, j) }, onErr)
		sum.Scanned += st.Media
		sum.Unchanged += st.Unchanged
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			onErr(root.Path, err)
		}
		if full {
			return nil, nil // nothing can be journaled: no upload could be recorded
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(a.file.Size, b.file.Size) })
	return jobs, nil
}

// upload sends the jobs with b.Files workers.
func (b *Backup) upload(parent context.Context, jobs []job, sum *Summary) {
	// A sign-out or a full account ends the pass: every other file would
	// fail the same way.
	ctx, stop := context.WithCancel(parent)
	defer stop()
	queue := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(b.Files, 1) {
		wg.Go(func() {
			for j := range queue {
				o, res, err := b.uploadOne(ctx, j)
				mu.Lock()
				if o == outStateFull {
					if sum.StateFull == nil {
						sum.StateFull = b.stateFullError(err)
					}
					stop()
				} else if o == outSignedOut || o == outQuota {
					if ctx.Err() == nil {
						sum.Failed = append(sum.Failed, Failure{"(every file left)", b.headline(err)})
					}
					stop()
				} else {
					sum.add(j, o, res, err)
				}
				mu.Unlock()
				if b.Progress != nil {
					b.Progress.FileDone()
				}
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		queue <- j
	}
	close(queue)
	wg.Wait()
}

// headline is the reason a whole pass stopped, without the file that met it.
func (b *Backup) headline(err error) error {
	if q, ok := storage.IsQuota(err); ok {
		return q
	}
	if isDiskFull(err) {
		return b.stateFullError(err)
	}
	return auth.ErrSignedOut
}

// stateFullError says that the state disk is full, and what to do.
func (b *Backup) stateFullError(err error) error {
	return fmt.Errorf("state_dir %s is full: free space, then run the backup again (%w)", b.StateDir, err)
}

func (b *Backup) uploadOne(ctx context.Context, j job) (outcome, uploader.Result, error) {
	s := sender{journal: b.Journal, uploader: b.Uploader, keys: b.Keys, log: b.Log}
	var progress, found func(int64)
	if b.Progress != nil {
		progress, found = b.Progress.Add, b.Progress.Found
	}
	return s.send(ctx, j, progress, found)
}

// add counts one upload that ended as o.
func (s *Summary) add(j job, o outcome, res uploader.Result, err error) {
	switch o {
	case outStored:
		s.Uploaded++
		s.Sent += res.Sent
	case outCopied:
		s.Copied++
	case outAlreadyStored:
		s.AlreadyStored++
	case outVanished:
		s.Vanished++
	case outInterrupted:
		s.Interrupted++
	default:
		s.Failed = append(s.Failed, Failure{j.abs, err})
	}
}
