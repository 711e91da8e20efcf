package agent

import (
	"context"
	"os"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// resumeUnfinished queues what the journal says is not done yet, uploads
// that were in flight first. A file still being written (the agent stopped
// while a camera wrote it) is left to the first scan, which sends it
// through the settler: uploaded now, it would fail as changed and wait out
// a retry delay.
func (a *Agent) resumeUnfinished(ctx context.Context) {
	pendSkipped(ctx, a.Journal, a.Since, a.Log)
	rows, err := a.Journal.Unfinished(ctx)
	if err != nil {
		a.Log.Error().Err(err).Msg("read unfinished uploads")
		return
	}
	byName := map[string]Root{}
	for _, r := range a.Roots {
		byName[r.Name] = r
	}
	queued := 0
	for _, row := range rows {
		if r, ok := byName[row.Root]; ok {
			if j := a.scan.job(row, r); !a.changing(j) {
				a.queue.push(j)
				queued++
			}
		}
	}
	if queued > 0 {
		a.Log.Info().Int("files", queued).Msg("resuming unfinished uploads")
	}
}

// changing reports whether j's file differs from its journal row or was
// modified within Settle, or cannot be read.
func (a *Agent) changing(j job) bool {
	fi, err := os.Stat(j.abs)
	return err != nil || !journal.IdentityOf(fi).Equal(j.file.Identity) || time.Since(fi.ModTime()) < a.Settle
}

// cleanUp aborts stale multipart uploads (abortStale) in the background,
// trying again while the storage does not answer, then lets the workers
// go. Watching and scanning do not wait for it.
func (a *Agent) cleanUp(ctx context.Context) {
	defer close(a.cleaned)
	for wait := a.RetryBase / 4; ; wait = min(2*wait, 5*time.Minute) {
		err := abortStale(ctx, a.Keys, a.Journal, a.Uploader)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !storage.Unreachable(err) {
			a.Log.Warn().Str("error", storage.Short(err)).Msg("could not clean up stale uploads")
			return
		}
		a.Log.Debug().Str("error", storage.Short(err)).Str("retry_in", wait.String()).Msg("stale uploads: storage unreachable")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// work uploads queued files until ctx ends. Uploads run under uploads,
// which outlives ctx by the shutdown grace.
func (a *Agent) work(ctx, uploads context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.cleaned: // an upload begun before would look stale
	}
	for {
		j, ok := a.queue.next(ctx)
		if !ok {
			return
		}
		if a.current(uploads, &j) {
			a.prepare(uploads, j)
			a.upload(uploads, j)
		}
		a.queue.done(j)
	}
}

// current brings j's journal row up to date and reports whether the file
// still needs its upload. A job may wait in the queue or for its retry
// while another job of the same file (a change that settled meanwhile)
// stores it: then the row is done with the file as it is now, and nothing
// is sent twice.
func (a *Agent) current(ctx context.Context, j *job) bool {
	row, err := a.Journal.Get(ctx, j.file.ID)
	if err != nil {
		return true // the upload says what is wrong
	}
	j.file.Attempts, j.file.Key = row.Attempts, row.Key // no longer new once tried or stored
	if row.State == journal.Freed {
		return false // stored, then moved to the trash by free-up: not gone, not to send
	}
	if row.State != journal.Done && row.State != journal.Skipped {
		return true
	}
	fi, err := os.Stat(j.abs)
	if err != nil || !journal.IdentityOf(fi).Equal(row.Identity) {
		return true
	}
	a.Log.Debug().Str("path", j.abs).Str("state", string(row.State)).Msg("stored or skipped since it was queued")
	return false
}

// prepare tells the uploader of j and the small files queued after it
// (uploader.Ahead), so that in account mode one grant call serves a
// window of files instead of one call each. What is queued right now
// makes the window: a lone new photo does not wait for more. A file
// already in a window another worker prepares waits for it.
func (a *Agent) prepare(ctx context.Context, j job) {
	w, ready := a.queue.window(j)
	if ready == nil {
		return
	}
	if len(w) == 0 {
		select {
		case <-ready:
		case <-ctx.Done():
		}
		return
	}
	defer close(ready)
	if a.Keys.Ready() {
		a.Uploader.Ahead(ctx, a.send.uploadJobs(ctx, w))
	}
}

// upload sends one file and acts on how it ended. A group member whose
// main photo's key is not known yet goes back to the queue for a moment
// (sender.later): it holds no worker while it waits, and does not fail.
func (a *Agent) upload(uploads context.Context, j job) {
	if a.send.later(uploads, j) {
		a.queue.later(j, laterDelay)
		return
	}
	o, res, err := a.send.send(uploads, j, a.track.begin(j), nil)
	a.track.end(j, o, res, err)
	switch o {
	case outStored, outCopied, outAlreadyStored:
		a.spaceFreed()
	case outSignedOut:
		a.queue.pushAgain(j) // uploaded after the next login
		a.signedOut(err)
	case outQuota:
		a.queue.pushAgain(j) // uploaded once space frees
		q, _ := storage.IsQuota(err)
		a.quotaReached(q)
	case outUnreachable: // the storage says so in its status, once
		a.queue.pushAgain(j) // uploaded once the storage answers
		a.storageDown()
	case outStateFull: // nothing could be journaled: not the file's fault
		a.stateFull(err)
		a.queue.pushAgain(j)
	case outFailed:
		a.queue.retryLater(j, a.RetryBase)
	}
}

// laterDelay is how long a group member waiting for its main photo's key
// stays out of the queue before it is looked at again.
const laterDelay = 500 * time.Millisecond

// storageDown holds the queue because the storage does not answer: the
// files wait for it, uncounted, instead of failing one by one.
func (a *Agent) storageDown() {
	if a.queue.setDown(true) {
		select {
		case a.down <- struct{}{}:
		default:
		}
	}
}

// probeEvery is how often awaitStorage asks a storage that does not answer.
const probeEvery = 2 * time.Second

// awaitStorage lets the queue go once the storage answers again. While it
// is held it asks the storage for a key that need not exist every
// probeEvery (any answer will do), and it notices an answer to the uploads
// still in flight too.
func (a *Agent) awaitStorage(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.down:
		}
		answers := func() bool {
			if a.Storage.Status().Reachable {
				return true
			}
			pctx, cancel := context.WithTimeout(ctx, probeEvery)
			defer cancel()
			return a.Uploader.Probe(pctx, a.Keys.UserPrefix()+".cloudkeep-probe") == nil
		}
		if !pollUntil(ctx, probeEvery, answers) {
			return
		}
		a.queue.setDown(false)
	}
}
