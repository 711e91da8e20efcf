package agent

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// Agent is the long-running backup daemon (`cloudkeep run`): it catches up
// with what changed while it was stopped, then watches the roots and
// uploads every new or changed media file once it is complete.
type Agent struct {
	Roots     []Root
	Filter    *media.Filter
	Keys      KeyTemplate
	Journal   *journal.Journal
	Uploader  *uploader.Uploader
	Device    string
	Files     int   // files uploaded at once
	Threshold int64 // files this big use the big-file lane

	Settle         time.Duration // quiet time before a changed file is uploaded
	RescanInterval time.Duration // full reconcile scans
	PollInterval   time.Duration // scans of roots that cannot be watched; retries of missing roots
	ShutdownGrace  time.Duration // time given to uploads in flight on stop
	RetryBase      time.Duration // first delay before a failed file is tried again
	QuotaRetry     time.Duration // how often uploads are tried again while the storage quota is reached
	Socket         string        // the control socket
	MetricsListen  string        // loopback host:port for the status page and /metrics; "" for none
	Log            zerolog.Logger
	MaxWatches     int // 0: the system's limit; tests set a small one
	// SignedIn, in account mode, reports whether the device has a sign-in
	// (it reads the credentials file again when it changed); nil otherwise.
	SignedIn func() (bool, error)
	// OnReady and OnStopping, when set, are told when the agent is up and
	// when it begins to stop (systemd's sd_notify READY and STOPPING).
	OnReady, OnStopping func()

	scan    *scanner
	send    *sender
	queue   *queue
	track   *tracker
	watch   *watcher
	changes chan change
	rescans chan Root
	ready   chan struct{} // closed once the first scan of every root is done
	out     chan struct{} // signals a sign-out to the watcher of the credentials
}

// Run runs the agent until ctx ends, then stops taking work, gives uploads
// in flight ShutdownGrace to finish (what does not finish resumes on the
// next start) and returns nil.
func (a *Agent) Run(ctx context.Context) error {
	a.Init()
	ctl, err := a.listen()
	if err != nil {
		return err
	}
	var web net.Listener
	reg := prometheus.NewRegistry()
	if a.MetricsListen != "" {
		if web, err = net.Listen("tcp", a.MetricsListen); err != nil {
			ctl.Close()
			return fmt.Errorf("metrics.listen: %w", err)
		}
		a.track.metrics = newMetrics(reg, a)
	}
	w, err := newWatcher(a.Roots, a.PollInterval, a.changes, a.rescans, a.Log)
	if err != nil {
		ctl.Close()
		if web != nil {
			web.Close()
		}
		return err
	}
	w.maxWatches = a.MaxWatches
	a.watch = w

	uploads, cancelUploads := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelUploads()
	abortStale(ctx, a.Keys, a.Journal, a.Uploader, a.Log)
	a.resumeUnfinished(ctx)
	w.start() // watches are in place before the first scan: nothing falls between

	g, gctx := errgroup.WithContext(ctx)
	var workers sync.WaitGroup
	for range max(a.Files, 1) {
		workers.Go(func() { a.work(gctx, uploads) })
	}
	s := newSettler(a.Settle, func(f Found) { a.settled(gctx, f) }, func(r Root, rel string, dir bool) { a.gone(gctx, r, rel, dir) })
	g.Go(func() error { return w.run(gctx) })
	g.Go(func() error { return s.run(gctx, a.changes) })
	g.Go(func() error { return serveControl(gctx, ctl, a) })
	g.Go(func() error { a.rescanLoop(gctx); return nil })
	if web != nil {
		g.Go(func() error { return a.serveWeb(gctx, web, reg) })
	}
	a.track.setState(StateRunning)
	if a.SignedIn != nil {
		if ok, _ := a.SignedIn(); !ok {
			a.signedOut(nil)
		}
		g.Go(func() error { a.awaitSignIn(gctx); return nil })
	}
	a.Log.Info().Int("roots", len(a.Roots)).Msg("agent running")
	if a.OnReady != nil {
		a.OnReady()
	}

	<-gctx.Done()
	a.track.setState(StateStopping)
	if a.OnStopping != nil {
		a.OnStopping()
	}
	a.Log.Info().Dur("grace", a.ShutdownGrace).Msg("stopping: finishing uploads in flight")
	stop := time.AfterFunc(a.ShutdownGrace, cancelUploads)
	workers.Wait()
	stop.Stop()
	err = g.Wait()
	a.Log.Info().Msg("agent stopped")
	return err
}

// Init prepares the agent; Run calls it when it was not called before.
func (a *Agent) Init() {
	if a.ready != nil {
		return
	}
	a.scan = &scanner{journal: a.Journal, filter: a.Filter, keys: a.Keys, log: a.Log}
	a.send = &sender{journal: a.Journal, uploader: a.Uploader, keys: a.Keys, log: a.Log}
	a.queue = newQueue(a.Threshold, a.Files)
	a.track = newTracker()
	a.changes = make(chan change, 1024)
	a.rescans = make(chan Root, 4*len(a.Roots)+4)
	a.ready = make(chan struct{})
	a.out = make(chan struct{}, 1)
	if a.RetryBase <= 0 {
		a.RetryBase = 30 * time.Second
	}
	if a.QuotaRetry <= 0 {
		a.QuotaRetry = time.Minute
	}
}

// resumeUnfinished queues what the journal says is not done yet, uploads
// that were in flight first.
func (a *Agent) resumeUnfinished(ctx context.Context) {
	rows, err := a.Journal.Unfinished(ctx)
	if err != nil {
		a.Log.Error().Err(err).Msg("read unfinished uploads")
		return
	}
	byName := map[string]Root{}
	for _, r := range a.Roots {
		byName[r.Name] = r
	}
	for _, row := range rows {
		if r, ok := byName[row.Root]; ok {
			a.queue.push(a.scan.job(row, r))
		}
	}
	if len(rows) > 0 {
		a.Log.Info().Int("files", len(rows)).Msg("resuming unfinished uploads")
	}
}

// work uploads queued files until ctx ends. Uploads run under uploads,
// which outlives ctx by the shutdown grace.
func (a *Agent) work(ctx, uploads context.Context) {
	for {
		j, ok := a.queue.next(ctx)
		if !ok {
			return
		}
		a.upload(uploads, j)
		a.queue.done(j)
	}
}

// upload sends one file and acts on how it ended.
func (a *Agent) upload(uploads context.Context, j job) {
	o, res, err := a.send.send(uploads, j, a.track.begin(j))
	a.track.end(j, o, res, err)
	switch o {
	case outStored, outCopied, outAlreadyStored:
		a.spaceFreed()
	case outSignedOut:
		a.queue.push(j) // uploaded after the next login
		a.signedOut(err)
	case outQuota:
		a.queue.push(j) // uploaded once space frees
		q, _ := storage.IsQuota(err)
		a.quotaReached(q)
	case outFailed:
		j.file.Attempts++
		a.queue.retryLater(j, a.retryDelay(j.file.Attempts))
	}
}

// signedOut stops uploading until the device signs in again; it logs once.
func (a *Agent) signedOut(err error) {
	if !a.queue.setHeldOnce() {
		return
	}
	a.track.setState(StateSignedOut)
	ev := a.Log.Warn()
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg("signed out — run `cloudkeep login`; uploads wait, folders are still watched")
	select {
	case a.out <- struct{}{}:
	default:
	}
}

// quotaReached holds the queue because the account's storage is full, and
// lets it go again after QuotaRetry to try again; it logs when the refusal
// is new.
func (a *Agent) quotaReached(q *storage.QuotaError) {
	if a.track.setQuota(q.Error()) {
		a.Log.Warn().Int64("used_bytes", q.Used).Int64("quota_bytes", q.Quota).
			Msg(q.Error() + ": uploads wait until space frees")
	}
	if a.queue.setFull(true) {
		time.AfterFunc(a.QuotaRetry, func() { a.queue.setFull(false) })
	}
}

// spaceFreed ends a quota hold once an upload succeeds.
func (a *Agent) spaceFreed() {
	if a.track.setQuota("") {
		a.queue.setFull(false)
		a.Log.Info().Msg("storage has room again: uploading")
	}
}

// awaitSignIn resumes uploading once the credentials file holds a sign-in
// again. It looks every two seconds, and only while signed out.
func (a *Agent) awaitSignIn(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.out:
		}
		t := time.NewTicker(2 * time.Second)
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				if ok, _ := a.SignedIn(); ok {
					waiting = false
				}
			}
		}
		t.Stop()
		a.track.setState(StateRunning)
		a.queue.setHeld(false)
		a.Log.Info().Msg("signed in again: uploading")
	}
}

// retryDelay doubles from RetryBase with each failed attempt, up to an hour.
func (a *Agent) retryDelay(attempts int) time.Duration {
	d := a.RetryBase
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// settled takes a file the settler found complete.
func (a *Agent) settled(ctx context.Context, f Found) {
	j, ok, err := a.scan.consider(ctx, f)
	switch {
	case err != nil:
		a.track.fail(f.Abs, err)
		a.Log.Warn().Err(err).Str("path", f.Abs).Msg("skipped; the next scan tries again")
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
	if err != nil {
		a.Log.Error().Err(err).Msg("journal")
	} else if n > 0 {
		a.Log.Debug().Str("root", r.Name).Str("path", rel).Int("files", n).Msg("deleted locally; the backup stays")
	}
}

// rescanLoop scans every root at start, then every RescanInterval and
// whenever the watcher asks (lost events, unwatchable folders).
func (a *Agent) rescanLoop(ctx context.Context) {
	for _, r := range a.Roots {
		a.rescan(ctx, r)
	}
	close(a.ready)
	t := time.NewTicker(a.RescanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, r := range a.Roots {
				a.rescan(ctx, r)
			}
		case r := <-a.rescans:
			a.rescan(ctx, r)
		}
	}
}

// rescan reconciles one root with the journal. Recently changed files go
// through the settler; the rest are queued at once.
func (a *Agent) rescan(ctx context.Context, r Root) {
	start := time.Now()
	queued := 0
	want := func(j job) {
		if time.Since(j.file.MTime) < a.Settle {
			select {
			case a.changes <- change{root: r, abs: j.abs, rel: j.file.Path}:
			case <-ctx.Done():
			}
			return
		}
		queued++
		a.queue.push(j)
	}
	onErr := func(path string, err error) {
		a.track.fail(path, err)
		a.Log.Warn().Err(err).Str("path", path).Msg("skipped; the next scan tries again")
	}
	st, err := a.scan.scanRoot(ctx, r, want, onErr)
	if err != nil && ctx.Err() == nil {
		a.Log.Warn().Err(err).Str("root", r.Name).Msg("scan failed")
		return
	}
	a.Log.Info().Str("root", r.Name).Int("media", st.Media).Int("unchanged", st.Unchanged).
		Int("queued", queued).Dur("took", time.Since(start)).Msg("scanned")
}

// Scanned is closed once the first scan of every root is done.
func (a *Agent) Scanned() <-chan struct{} { return a.ready }

// Status reports what the agent is doing.
func (a *Agent) Status() Status {
	s := Status{Device: a.Device}
	a.track.fill(&s)
	if s.State == StateRunning && a.queue.isPaused() {
		s.State = StatePaused
	}
	s.Roots = a.watch.snapshot()
	s.Queue = a.queue.status()
	return s
}

// OnRetry counts a storage request tried again (uploader.Config.OnRetry).
func (a *Agent) OnRetry() {
	if m := a.track.metrics; m != nil {
		m.retried.Inc()
	}
}

// Pause stops handing out uploads; watching and scanning go on.
func (a *Agent) Pause() { a.queue.setPaused(true); a.Log.Info().Msg("paused") }

// Resume starts uploading again.
func (a *Agent) Resume() { a.queue.setPaused(false); a.Log.Info().Msg("resumed") }
