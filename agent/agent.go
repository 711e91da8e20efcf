package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/internal/repeatlog"
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
	Files     int       // files uploaded at once
	Threshold int64     // files this big use the big-file lane
	Since     time.Time // media.since: files taken before this day are skipped; zero: none

	Settle         time.Duration // quiet time before a changed file is uploaded
	SettleLease    bool          // on Linux, a quiet file goes once no writer holds it open (settle.go)
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
	// Account, in account mode, returns the signed-in account for the
	// status; nil otherwise.
	Account func() string
	// Storage follows whether the storage answers, for the status; may be
	// nil.
	Storage *storage.Health
	// StorageProblem is what the start check found wrong with the storage
	// that only a new config mends (refused credentials), for the
	// status; "" when nothing.
	StorageProblem string
	// StateDir holds the journal. While its disk is full uploads wait, and
	// it is probed every StateProbe until it has room again.
	StateDir   string
	StateProbe time.Duration
	// OnReady and OnStopping, when set, are told when the agent is up and
	// when it begins to stop (systemd's sd_notify READY and STOPPING).
	OnReady, OnStopping func()
	// Thumbs, when set, is where a thumbnail of each photo stored goes,
	// under the account's .thumbs/ folder; nil: no thumbnails.
	Thumbs storage.Storage

	Verification // periodic light verify (verify.go)
	UploadRules  // when uploads may go (rules.go)
	Alerting     // alerts (alerts.go)
	Manifesting  // the device's manifest in the bucket (manifest.go)

	scan    *scanner
	send    *sender
	queue   *queue
	track   *tracker
	watch   *watcher
	changes chan change
	rescans chan Root
	ready   chan struct{} // closed once the first scan of every root is done
	out     chan struct{} // signals a sign-out to the watcher of the credentials
	down    chan struct{} // signals an unreachable storage to awaitStorage
	full    chan struct{} // signals a full state disk to its prober
	cleaned chan struct{} // closed once stale uploads are cleaned up: workers wait for it
	repeats *repeatlog.Limiter
	rereads *rereads // files that could not be read, tried again on the failure schedule
	thumbs  *thumbnailer
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
		a.thumbs.register(reg)
		a.verifyMetrics(reg)
		a.rulesMetrics(reg)
		a.alertsMetrics(reg)
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
	a.resumeUnfinished(ctx)
	w.start() // watches are in place before the first scan: nothing falls between

	g, gctx := errgroup.WithContext(ctx)
	var workers sync.WaitGroup
	for range max(a.Files, 1) {
		workers.Go(func() { a.work(gctx, uploads) })
	}
	s := newSettler(a.Settle, func(f Found) { a.settled(gctx, f) }, func(r Root, rel string, dir bool) { a.gone(gctx, r, rel, dir) })
	s.useLease(a.SettleLease, a.Log)
	g.Go(func() error { return w.run(gctx) })
	g.Go(func() error { return s.run(gctx, a.changes) })
	g.Go(func() error { return serveControl(gctx, ctl, a) })
	g.Go(func() error { a.cleanUp(gctx); return nil })
	g.Go(func() error { a.rescanLoop(gctx); return nil })
	g.Go(func() error { a.awaitStateRoom(gctx); return nil })
	g.Go(func() error { a.thumbs.run(gctx); return nil })
	g.Go(func() error { a.verifyLoop(gctx); return nil })
	g.Go(func() error { a.rulesLoop(gctx); return nil })
	g.Go(func() error { a.alertLoop(gctx); return nil })
	g.Go(func() error { a.manifestLoop(gctx); return nil })
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
	g.Go(func() error { a.awaitStorage(gctx); return nil })
	a.Log.Info().Int("roots", len(a.Roots)).Msg("agent running")
	if a.OnReady != nil {
		a.OnReady()
	}

	<-gctx.Done()
	a.track.setState(StateStopping)
	if a.OnStopping != nil {
		a.OnStopping()
	}
	a.Log.Info().Dur("grace_ms", a.ShutdownGrace).Msg("stopping: finishing uploads in flight")
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
	a.scan = &scanner{journal: a.Journal, filter: a.Filter, keys: a.Keys, log: a.Log, uploader: a.Uploader}
	if a.Thumbs != nil {
		cache := ""
		if a.StateDir != "" {
			cache = filepath.Join(a.StateDir, "thumbs")
		}
		a.thumbs = newThumbnailer(a.Thumbs, a.Journal, a.Keys, a.Roots, cache, a.Log)
	}
	a.send = &sender{journal: a.Journal, uploader: a.Uploader, keys: a.Keys, since: a.Since, log: a.Log, thumbs: a.thumbs}
	a.queue = newQueue(a.Threshold, a.Files)
	a.track = newTracker()
	a.changes = make(chan change, 1024)
	a.rescans = make(chan Root, 4*len(a.Roots)+4)
	a.ready = make(chan struct{})
	a.thumbs.follow(a.queue, a.ready) // thumbnails wait for the first scan, then for idle uploads
	a.out = make(chan struct{}, 1)
	a.down = make(chan struct{}, 1)
	if _, err := os.Stat(a.pausedFile()); a.StateDir != "" && err == nil {
		a.queue.setPaused(true)
		a.Log.Info().Msg("paused (run `cloudkeep resume` to upload)")
	}
	if a.Storage != nil {
		a.Storage.OnDown(a.storageDown)
	}
	a.full = make(chan struct{}, 1)
	a.cleaned = make(chan struct{})
	a.repeats = repeatlog.New(a.Log, time.Minute)
	a.rereads = &rereads{files: map[string]*reread{}}
	if a.StateProbe <= 0 {
		a.StateProbe = 5 * time.Second
	}
	if a.RetryBase <= 0 {
		a.RetryBase = 30 * time.Second
	}
	if a.QuotaRetry <= 0 {
		a.QuotaRetry = time.Minute
	}
	if a.Journal != nil {
		if last, err := a.Journal.LastUploaded(context.Background()); err == nil {
			a.track.totals.LastUpload = last
		}
	}
	a.initVerify()
	a.initRules()
	a.initAlerts()
	a.initManifest()
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
		signedIn := func() bool { ok, _ := a.SignedIn(); return ok }
		if !pollUntil(ctx, 2*time.Second, signedIn) {
			return
		}
		a.track.setState(StateRunning)
		a.queue.setHeld(false)
		a.Log.Info().Msg("signed in again: uploading")
	}
}

// Scanned is closed once the first scan of every root is done.
func (a *Agent) Scanned() <-chan struct{} { return a.ready }

// Status reports what the agent is doing.
func (a *Agent) Status() Status {
	s := Status{Device: a.Device, Storage: a.Storage.Status(), StorageProblem: a.StorageProblem}
	if a.Account != nil {
		s.Account = a.Account()
	}
	a.track.fill(&s)
	if s.State == StateRunning && a.queue.isPaused() {
		s.State = StatePaused
	}
	s.Roots = append(make([]RootHealth, 0, len(a.Roots)), a.watch.snapshot()...)
	s.Queue = a.track.withWaiting(a.queue.status())
	a.fillVerify(&s)
	a.fillRules(&s)
	a.fillAlerts(&s)
	return s
}

// OnRetry counts a storage request tried again (uploader.Config.OnRetry).
func (a *Agent) OnRetry() {
	if m := a.track.metrics; m != nil {
		m.retried.Inc()
	}
}

// Pause stops handing out uploads; watching and scanning go on.
func (a *Agent) Pause() {
	if a.queue.setPaused(true) {
		a.Log.Info().Msg("paused")
	}
	if a.StateDir != "" { // paused until resumed, across restarts
		if err := os.WriteFile(a.pausedFile(), nil, 0o600); err != nil {
			a.Log.Warn().Err(err).Msg("the pause will not outlast a restart")
		}
	}
}

// pausedFile exists while the person has paused the uploads.
func (a *Agent) pausedFile() string { return filepath.Join(a.StateDir, "paused") }

// Resume starts uploading again.
func (a *Agent) Resume() {
	if a.queue.setPaused(false) {
		a.Log.Info().Msg("resumed")
	}
	if a.StateDir != "" {
		if err := os.Remove(a.pausedFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.Log.Warn().Err(err).Msg("the pause may come back after a restart")
		}
	}
}

// pollUntil asks done every interval until it says yes (true) or ctx ends
// (false): how the agent waits for a sign-in, a storage that answers again
// or room on the state disk.
func pollUntil(ctx context.Context, every time.Duration, done func() bool) bool {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			if done() {
				return true
			}
		}
	}
}
