package agent

import (
	"context"
	"errors"
	"io/fs"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/storage"
)

// rescanLoop scans every root at start, then every RescanInterval and
// whenever the watcher asks (lost events, unwatchable folders).
func (a *Agent) rescanLoop(ctx context.Context) {
	a.rescanAll(ctx)
	close(a.ready)
	t := time.NewTicker(a.RescanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.rescanAll(ctx)
		case r := <-a.rescans:
			a.rescan(ctx, r)
		}
	}
}

// rescanAll rescans every root, then gives the memory the walks used back
// to the system: an idle agent then holds little more than its code.
func (a *Agent) rescanAll(ctx context.Context) {
	for _, r := range a.Roots {
		a.rescan(ctx, r)
	}
	debug.FreeOSMemory()
}

// rescan reconciles one root with the journal. Recently changed files go
// through the settler; the rest are queued at once.
func (a *Agent) rescan(ctx context.Context, r Root) {
	if a.track.stateFull() {
		return // nothing could be journaled: scanned again once the disk has room
	}
	start := time.Now()
	queued := 0
	want := func(j job) {
		if time.Since(j.file.MTime) < a.Settle {
			select {
			case a.changes <- change{root: r, abs: j.abs, rel: j.file.Path, noWrite: true}:
			case <-ctx.Done():
			}
			return
		}
		queued++
		a.queue.push(j)
	}
	onErr := func(path string, err error) { a.skipped(ctx, path, err) }
	st, err := a.scan.scanRoot(ctx, r, want, onErr)
	if err != nil && ctx.Err() == nil {
		a.Log.Warn().Err(err).Str("root", r.Name).Msg("scan failed")
		return
	}
	a.Log.Info().Str("root", r.Name).Int("media", st.Media).Int("unchanged", st.Unchanged).
		Int("queued", queued).Dur("took_ms", time.Since(start)).Msg("scanned")
}

// settled takes a file the settler found complete.
func (a *Agent) settled(ctx context.Context, f Found) {
	j, ok, err := a.scan.consider(ctx, f)
	if err == nil {
		a.rereads.forget(f.Abs)
	}
	switch {
	case err != nil:
		a.skipped(ctx, f.Abs, err)
	case ok:
		a.Log.Debug().Str("path", f.Abs).Msg("ready")
		a.queue.push(j)
	}
}

// gone records that a file or folder was deleted or moved away. Nothing
// remote is deleted.
func (a *Agent) gone(ctx context.Context, r Root, rel string, dir bool) {
	var n int
	var err error
	if dir {
		n, err = a.Journal.MarkGoneUnder(ctx, r.Name, rel)
	} else {
		n, err = a.Journal.MarkGone(ctx, r.Name, []string{rel})
	}
	switch {
	case isDiskFull(err):
		a.stateFull(err) // the scan after the disk has room again marks them
	case err != nil:
		a.Log.Error().Err(err).Msg("journal")
	case n > 0:
		a.Log.Debug().Str("root", r.Name).Str("path", rel).Int("files", n).Msg("deleted locally; the backup stays")
		abortDeleted(ctx, a.Uploader, a.Log)
	}
}

// skipped records a file that could not be considered. A full state disk
// is said once for all files (stateFull); other errors are logged once per
// kind of error and counted while they repeat, and the file is tried again
// on the failure schedule (rereadLater).
func (a *Agent) skipped(ctx context.Context, path string, err error) {
	if isDiskFull(err) {
		a.stateFull(err)
		a.track.waitRoom(path)
		return
	}
	a.track.fail(path, err)
	reason := storage.Short(err)
	var pe *fs.PathError
	if errors.As(err, &pe) { // the same reason for every file: "open: permission denied"
		reason = pe.Op + ": " + pe.Err.Error()
	}
	delay, ok := a.rereadLater(ctx, path)
	ev := a.repeats.Event(zerolog.WarnLevel, "skipped: "+reason).Str("path", path).Str("error", err.Error())
	if !ok {
		ev.Msg("skipped; the next scan tries again")
		return
	}
	ev.Int64("retry_in_ms", delay.Milliseconds()).Msg("skipped; tried again later")
}
