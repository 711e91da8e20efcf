package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

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
	Files    int       // files uploaded at once
	Since    time.Time // media.since: files taken before this day are skipped; zero: none
	StateDir string    // holds the journal; named when its disk is full
	Log      zerolog.Logger
	Progress Progress // may be nil
	// Thumbs, when set, is where the thumbnails of the stored photos go,
	// under the account's .thumbs/ folder (Thumbnails, after Run); nil: no
	// thumbnails.
	Thumbs storage.Storage
	// Manifest, when set, is where the device's manifest goes at the end of
	// the pass (manifest.go); nil: none is written.
	Manifest storage.Storage

	sender *sender
	thumbs *thumbnailer
}

// Progress is told what a Backup plans and does, e.g. to draw a bar. The
// plan grows while the walk goes on: each file is Planned before its
// upload begins, and Walked says that the plan is whole.
type Progress interface {
	Planned(files int, bytes int64) // more files to send, found by the walk
	Walked()                        // the walk is done: nothing more is planned
	Add(bytes int64)                // bytes sent (negative: a failed request taken back)
	Found(bytes int64)              // bytes the storage already holds: done, not sent (negative: taken back)
	FileDone()
}

// Summary is the outcome of a Backup.
type Summary struct {
	Scanned       int   // media files found
	Unchanged     int   // backed up before and unchanged since, by the journal
	Uploaded      int   // sent now
	Copied        int   // copied on the server from the key that held them (renamed files)
	AlreadyStored int   // found in the storage with the same content: nothing sent
	Skipped       int   // taken before media.since: not backed up
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
// all; files that failed are in Summary.Failed. Uploads begin while the
// walk goes on.
func (b *Backup) Run(parent context.Context) (Summary, error) {
	if err := abortStale(parent, b.Keys, b.Journal, b.Uploader); err != nil && parent.Err() == nil {
		b.Log.Warn().Str("error", storage.Short(err)).Msg("could not clean up stale uploads")
	}
	b.sender = &sender{journal: b.Journal, uploader: b.Uploader, keys: b.Keys, since: b.Since, log: b.Log}
	pendSkipped(parent, b.Journal, b.Since, b.Log)
	// A sign-out, a full account or a full state disk ends the pass: every
	// other file would fail the same way.
	ctx, stop := context.WithCancel(parent)
	defer stop()
	p := &pass{}
	jobs := make(chan job, aheadFiles) // the walk stays a window ahead
	b.sender.thumbs = b.thumbnailer()  // told which originals were found stored
	held := b.workers(ctx, stop, p, jobs, true)
	b.plan(ctx, p, jobs)
	close(jobs)
	b.sendHeld(ctx, stop, p, held())
	if b.Manifest != nil && ctx.Err() == nil {
		mw := &ManifestWriter{Storage: b.Manifest, Journal: b.Journal, Keys: b.Keys, StateDir: b.StateDir, Log: b.Log}
		if _, err := mw.Write(ctx, true); err != nil {
			b.Log.Warn().Str("error", storage.Short(err)).Msg("could not write the manifest: the next backup writes it")
		}
	}
	return p.sum, parent.Err()
}

// workers uploads the jobs of in, b.Files at once, told ahead in windows
// (prepared). When hold, a group member whose main photo is not stored
// yet (sender.later) is held back instead, holding no worker. The
// returned func waits for in to be closed and done, and returns the jobs
// held back.
func (b *Backup) workers(ctx context.Context, stop func(), p *pass, in <-chan job, hold bool) func() []job {
	ready := b.prepared(ctx, in)
	var mu sync.Mutex
	var held []job
	var wg sync.WaitGroup
	for range max(b.Files, 1) {
		wg.Go(func() {
			for j := range ready {
				if hold && b.sender.later(ctx, j) {
					mu.Lock()
					held = append(held, j)
					mu.Unlock()
					continue
				}
				b.uploadOne(ctx, stop, j, p)
			}
		})
	}
	return func() []job {
		wg.Wait()
		return held
	}
}

// sendHeld sends the group members the pass held back, once the files
// before them are done: each then takes its main photo's key, suffix
// included, as under cloudkeep run. A member whose main was held too (the
// sidecar of a Live Photo's video) is held another round; once a round
// sends none, those left are sent as they are: their main failed or is
// not backed up, and they take the template's key.
func (b *Backup) sendHeld(ctx context.Context, stop func(), p *pass, held []job) {
	for hold := true; len(held) > 0 && ctx.Err() == nil; {
		b.Log.Debug().Int("files", len(held)).Msg("sending the members that waited for their main photo")
		in := make(chan job)
		again := b.workers(ctx, stop, p, in, hold)
		for _, j := range held {
			select {
			case in <- j:
			case <-ctx.Done():
			}
		}
		close(in)
		next := again()
		hold = len(next) < len(held)
		held = next
	}
}

// Thumbnails makes the thumbnails the stored photos lack, those of this
// pass's photos (after Run: their uploads never wait for them) and any
// left by earlier passes or the agent, one per core at once, up to 4.
// progress, when not nil, is told the photos handled out of those to
// handle. Its error is the end of ctx: what is left is made by the agent
// or the next backup, and so is the rest after a storage error
// (ThumbSummary.Stopped). Without Thumbs it does nothing.
func (b *Backup) Thumbnails(ctx context.Context, progress func(done, total int)) (ThumbSummary, error) {
	t := b.thumbnailer()
	if t == nil {
		return ThumbSummary{}, nil
	}
	return t.catchUp(ctx, thumbWorkers(), progress)
}

// thumbnailer returns the pass's thumbnailer; nil without Thumbs.
func (b *Backup) thumbnailer() *thumbnailer {
	if b.thumbs == nil && b.Thumbs != nil {
		b.thumbs = newThumbnailer(b.Thumbs, b.Journal, b.Keys, b.Roots, "", b.Log)
	}
	return b.thumbs
}

// pass is the Summary of a Backup in progress, shared by the walk and the
// workers.
type pass struct {
	mu  sync.Mutex
	sum Summary
}

// abortStale aborts incomplete uploads under this device's prefix that the
// journal does not know: left by a crash before they were journaled.
func abortStale(ctx context.Context, keys KeyTemplate, j *journal.Journal, up *uploader.Uploader) error {
	if !keys.Ready() {
		return nil // signed out: no prefix is ours yet
	}
	if !keys.DeviceScoped() {
		return nil // keys are shared with the account's other devices: their uploads in progress are not ours to abort
	}
	prefix := keys.Prefix()
	keep, err := j.UploadIDs(ctx)
	if err == nil {
		_, err = up.AbortStale(ctx, prefix, keep)
	}
	return err
}

// plan walks the roots and hands the files to upload to jobs as it meets
// them, telling the Progress of each first.
func (b *Backup) plan(ctx context.Context, p *pass, jobs chan<- job) {
	s := &scanner{journal: b.Journal, filter: b.Filter, keys: b.Keys, log: b.Log, uploader: b.Uploader}
	send := func(j job) {
		if b.Progress != nil {
			b.Progress.Planned(1, j.file.Size)
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}
	if b.Progress != nil {
		defer b.Progress.Walked()
	}
	onErr := func(path string, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case !isDiskFull(err):
			p.sum.Failed = append(p.sum.Failed, Failure{path, err})
		case p.sum.StateFull == nil: // said once for every file
			p.sum.StateFull = b.stateFullError(err)
		}
	}
	for _, root := range b.Roots {
		start := time.Now()
		st, err := s.scanRoot(ctx, root, send, onErr)
		b.Log.Info().Str("root", root.Name).Int("media", st.Media).Int("unchanged", st.Unchanged).
			Int64("took_ms", time.Since(start).Milliseconds()).Msg("scanned")
		p.mu.Lock()
		p.sum.Scanned += st.Media
		p.sum.Unchanged += st.Unchanged
		p.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			onErr(root.Path, err)
		}
		if p.full() {
			return // nothing can be journaled: no upload could be recorded
		}
	}
}

// full reports whether the state disk filled up.
func (p *pass) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum.StateFull != nil
}

// uploadOne sends j and counts how it ended; stop ends the pass when no
// other file could be stored either.
func (b *Backup) uploadOne(ctx context.Context, stop func(), j job, p *pass) {
	o, res, err := b.send(ctx, j)
	p.mu.Lock()
	switch o {
	case outStateFull:
		if p.sum.StateFull == nil {
			p.sum.StateFull = b.stateFullError(err)
		}
		stop()
	case outSignedOut, outQuota:
		if ctx.Err() == nil {
			p.sum.Failed = append(p.sum.Failed, Failure{"(every file left)", b.headline(err)})
		}
		stop()
	default:
		p.sum.add(j, o, res, err)
	}
	p.mu.Unlock()
	if b.Progress != nil {
		b.Progress.FileDone()
	}
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

// send uploads one job.
func (b *Backup) send(ctx context.Context, j job) (outcome, uploader.Result, error) {
	var progress, found func(int64)
	if b.Progress != nil {
		progress, found = b.Progress.Add, b.Progress.Found
	}
	return b.sender.send(ctx, j, progress, found)
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
	case outSkipped:
		s.Skipped++
	case outVanished:
		s.Vanished++
	case outInterrupted:
		s.Interrupted++
	default:
		s.Failed = append(s.Failed, Failure{j.abs, err})
	}
}
