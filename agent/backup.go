// Package agent backs up media folders: a one-pass Backup, and (in run.go)
// the long-running daemon that watches the folders.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
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
	Files    int // files uploaded at once
	Log      zerolog.Logger
	Progress Progress // may be nil
}

// Progress is told what a Backup plans and does, e.g. to draw a bar.
type Progress interface {
	Planned(files int, bytes int64)
	Add(bytes int64) // bytes stored (sent, or found stored)
	FileDone()
}

// Summary is the outcome of a Backup.
type Summary struct {
	Scanned   int   // media files found
	Unchanged int   // already backed up, by the journal
	Uploaded  int   // sent now
	Skipped   int   // found already stored with the same content
	Sent      int64 // bytes sent
	Failed    []Failure
}

// Failure is a file that could not be backed up, and why.
type Failure struct {
	Path string
	Err  error
}

// job is one file to upload.
type job struct {
	file journal.File
	abs  string
	key  string
}

// Run makes the pass. Its error is only for a pass that could not run at
// all; files that failed are in Summary.Failed.
func (b *Backup) Run(ctx context.Context) (Summary, error) {
	b.abortStale(ctx)
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
func (b *Backup) abortStale(ctx context.Context) {
	prefix := b.Keys.Prefix()
	if prefix == "" {
		return // keys are not scoped to this device: nothing is safely ours
	}
	keep, err := b.Journal.UploadIDs(ctx)
	if err == nil {
		_, err = b.Uploader.AbortStale(ctx, prefix, keep)
	}
	if err != nil {
		b.Log.Warn().Err(err).Msg("could not clean up stale uploads")
	}
}

// plan walks the roots and returns the files to upload, smallest first so
// that a big video does not hold back the photos.
func (b *Backup) plan(ctx context.Context, sum *Summary) ([]job, error) {
	var jobs []job
	for _, root := range b.Roots {
		if _, err := os.Stat(root.Path); err != nil {
			sum.Failed = append(sum.Failed, Failure{root.Path, fmt.Errorf("cannot read folder %s: %w", root.Name, err)})
			continue
		}
		onErr := func(path string, err error) {
			sum.Failed = append(sum.Failed, Failure{path, err})
		}
		err := walk(root, func(f Found) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			j, ok, err := b.consider(ctx, f, sum)
			if err != nil {
				onErr(f.Abs, err)
			} else if ok {
				jobs = append(jobs, j)
			}
			return nil
		}, onErr)
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return int(a.file.Size - b.file.Size) })
	return jobs, nil
}

// consider decides whether a found file is media to upload now.
func (b *Backup) consider(ctx context.Context, f Found, sum *Summary) (job, bool, error) {
	if !b.Filter.Match(f.Rel) {
		return job{}, false, nil
	}
	id := journal.IdentityOf(f.Info)
	prev, err := b.Journal.Lookup(ctx, f.Root.Name, f.Rel)
	if err == nil && prev.State == journal.Done && prev.Identity.Equal(id) {
		sum.Scanned++
		sum.Unchanged++
		return job{}, false, nil
	}
	ok, err := b.isMedia(f)
	if err != nil || !ok {
		return job{}, false, err
	}
	sum.Scanned++
	row, need, err := b.Journal.Track(ctx, f.Root.Name, f.Rel, id)
	if err != nil || !need {
		return job{}, false, err
	}
	return job{file: row, abs: f.Abs, key: b.Keys.Key(f.Root.Name, f.Rel)}, true, nil
}

func (b *Backup) isMedia(f Found) (bool, error) {
	fh, err := os.Open(f.Abs)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read: %w", err)
	}
	defer fh.Close()
	_, ok := b.Filter.Classify(f.Rel, fh)
	return ok, nil
}

// upload sends the jobs with b.Files workers.
func (b *Backup) upload(ctx context.Context, jobs []job, sum *Summary) {
	queue := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(b.Files, 1) {
		wg.Go(func() {
			for j := range queue {
				res, err := b.uploadOne(ctx, j)
				mu.Lock()
				b.tally(sum, j, res, err)
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

// errVanished marks a file deleted before its upload: dropped, not failed.
var errVanished = errors.New("file vanished before upload")

func (b *Backup) uploadOne(ctx context.Context, j job) (uploader.Result, error) {
	if err := b.Journal.MarkUploading(ctx, j.file.ID); err != nil {
		return uploader.Result{}, err
	}
	up := uploader.Job{FileID: j.file.ID, Path: j.abs, Key: j.key}
	if b.Progress != nil {
		up.Progress = b.Progress.Add
	}
	res, err := b.Uploader.Upload(ctx, up)
	if errors.Is(err, fs.ErrNotExist) {
		return res, errors.Join(errVanished, b.Journal.MarkDeleted(ctx, j.file.ID))
	}
	if err != nil {
		if ctx.Err() == nil {
			if merr := b.Journal.MarkFailed(ctx, j.file.ID, err); merr != nil {
				b.Log.Error().Err(merr).Msg("journal")
			}
		}
		return res, err
	}
	stored := journal.Stored{Identity: res.Identity, Key: res.Key, ETag: res.ETag, SHA256: res.SHA256}
	return res, b.Journal.MarkDone(ctx, j.file.ID, stored)
}

func (b *Backup) tally(sum *Summary, j job, res uploader.Result, err error) {
	switch {
	case errors.Is(err, errVanished):
		b.Log.Debug().Str("path", j.abs).Msg("file vanished before upload")
	case err != nil && isCanceled(err):
	case err != nil:
		sum.Failed = append(sum.Failed, Failure{j.abs, err})
		b.Log.Error().Err(err).Str("path", j.abs).Msg("upload failed")
	case res.Skipped:
		sum.Skipped++
		b.Log.Info().Str("key", res.Key).Int64("size", res.Size).Msg("already stored")
	default:
		sum.Uploaded++
		sum.Sent += res.Sent
		b.Log.Info().Str("key", res.Key).Int64("size", res.Size).
			Dur("duration", res.Duration).Str("rate", rateOf(res.Size, res.Duration)).Msg("uploaded")
	}
}

func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func rateOf(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB/s", float64(n)/d.Seconds()/(1<<20))
}
