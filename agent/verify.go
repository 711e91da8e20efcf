package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/verify"
)

// Verification is the agent's periodic light verify: its journal against
// the storage's listing, every VerifyInterval.
type Verification struct {
	VerifyInterval time.Duration   // 0: never
	VerifyStore    storage.Storage // what is listed; nil: no verify

	verified *verified // made by initVerify
}

// verified holds the last light verify's result and its metrics.
type verified struct {
	again   chan struct{} // a light verify is asked for (after a repair)
	mu      sync.Mutex
	last    *VerifyStatus
	reasons *prometheus.GaugeVec // nil without metrics
	ran     prometheus.Gauge
}

// VerifyStatus is the last light verify's result, in the status.
type VerifyStatus struct {
	At         time.Time      `json:"at"`
	DurationMS int64          `json:"duration_ms"`
	Files      int            `json:"tracked_files"`
	Objects    int            `json:"objects"`
	Counts     map[string]int `json:"counts"`  // findings by reason (verify.Reasons)
	Failing    int            `json:"failing"` // findings that make the backup not whole (remote_only is not one)
	Error      string         `json:"error,omitempty"`
}

// verifyFirstAfter is how long after the first scan the first light
// verify runs: the scan's uploads come first.
const verifyFirstAfter = 5 * time.Minute

// verifyAfterEnv, for tests only, sets how long after the first scan the
// first light verify runs (a Go duration, e.g. "1s").
const verifyAfterEnv = "CLOUDKEEP_TEST_VERIFY_AFTER"

// verifyIdleWait bounds how long a light verify waits for the queue to be
// idle before it runs anyway: its listing competes little with uploads.
const verifyIdleWait = time.Hour

func (a *Agent) initVerify() { a.verified = &verified{again: make(chan struct{}, 1)} }

// verifyLoop runs the light verify some minutes after the first scan, then
// every VerifyInterval (0: never), and once more after each repair, so
// that the status does not keep findings the repair mended. Each waits
// for the queue to be idle (or for verifyIdleWait).
func (a *Agent) verifyLoop(ctx context.Context) {
	if a.VerifyStore == nil {
		return
	}
	first := verifyFirstAfter
	if d, err := time.ParseDuration(os.Getenv(verifyAfterEnv)); err == nil {
		first = d
	}
	select {
	case <-ctx.Done():
		return
	case <-a.ready:
	}
	var tick <-chan time.Time
	if a.VerifyInterval > 0 {
		tick = time.After(first)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			tick = time.After(a.VerifyInterval)
		case <-a.verified.again:
		}
		since := time.Now()
		if a.queue.busy() && !pollUntil(ctx, time.Second, func() bool { return !a.queue.busy() || time.Since(since) > verifyIdleWait }) {
			return
		}
		a.lightVerify(ctx)
	}
}

// verifyAgain asks verifyLoop for a light verify once the queue is idle.
func (a *Agent) verifyAgain() {
	select {
	case a.verified.again <- struct{}{}:
	default: // one is asked for already
	}
}

// lightVerify compares the journal with the listing, and keeps the result
// for the status and the metrics.
func (a *Agent) lightVerify(ctx context.Context) {
	start := time.Now()
	st := &VerifyStatus{At: start, Counts: map[string]int{}}
	rep, err := Check(ctx, a.Journal, a.VerifyStore, a.Keys, verify.Input{Roots: rootMap(a.Roots)})
	st.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		st.Error = storage.Short(err)
		a.Log.Warn().Str("error", st.Error).Msg("verify: could not compare the journal with the storage")
	} else {
		st.Files, st.Objects, st.Failing = rep.Tracked, rep.Objects, rep.Failing
		for _, r := range verify.Reasons {
			st.Counts[string(r)] = rep.Counts[r]
		}
		ev := a.Log.Info()
		if rep.Failing > 0 {
			ev = a.Log.Warn()
		}
		ev.Int("tracked_files", rep.Tracked).Int("objects", rep.Objects).Int("failing", rep.Failing).
			Int64("duration_ms", st.DurationMS).Msg("verify: journal compared with the storage")
		for _, f := range rep.Findings {
			a.Log.Debug().Str("reason", string(f.Reason)).Str("path", f.Path).Str("key", f.Key).Str("detail", f.Detail).Msg("verify finding")
		}
	}
	v := a.verified
	v.mu.Lock()
	defer v.mu.Unlock()
	v.last = st
	if v.reasons != nil {
		for r, n := range st.Counts {
			v.reasons.WithLabelValues(r).Set(float64(n))
		}
		v.ran.Set(float64(start.UnixNano()) / 1e9)
	}
}

func (a *Agent) fillVerify(s *Status) {
	v := a.verified
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last != nil {
		last := *v.last
		s.Verify = &last
	}
}

func (a *Agent) verifyMetrics(reg *prometheus.Registry) {
	v := a.verified
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reasons = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cloudkeep_verify_findings",
		Help: "Findings of the last light verify, by reason: missing_remote, size_mismatch, hash_mismatch, remote_only."}, []string{"reason"})
	v.ran = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudkeep_verify_last_run_timestamp_seconds",
		Help: "When the last light verify ran; 0 before the first."})
	reg.MustRegister(v.reasons, v.ran)
}

// Check reads the journal and the listing under the device's prefix and
// compares them with in (the walk, for `cloudkeep verify`), which it
// completes with the objects, and with the rows unless it holds them.
func Check(ctx context.Context, j *journal.Journal, st storage.Storage, keys KeyTemplate, in verify.Input) (verify.Report, error) {
	if !keys.Ready() {
		return verify.Report{}, errors.New("signed out: no key prefix to list")
	}
	if in.Rows == nil {
		if err := j.Rows(ctx, func(r journal.Row) error { in.Rows = append(in.Rows, r); return nil }); err != nil {
			return verify.Report{}, err
		}
	}
	if !keys.DeviceScoped() {
		in.Device = keys.Device
	}
	var err error
	if in.Objects, err = listObjects(ctx, st, keys.Prefix(), in); err != nil {
		return verify.Report{}, err
	}
	rep := verify.Compare(in)
	rep.At = time.Now()
	return rep, nil
}

// listObjects lists the objects under prefix. A storage that lists
// without metadata (storage.KeyLister) is asked for the metadata of the
// objects whose listing alone does not settle them: one a stored row
// holds with its size but another ETag than its upload's, and, when the
// prefix is shared with other devices, one no row holds.
func listObjects(ctx context.Context, st storage.Storage, prefix string, in verify.Input) ([]storage.Object, error) {
	kl, ok := st.(storage.KeyLister)
	if !ok {
		var out []storage.Object
		err := st.List(ctx, prefix, func(o storage.Object) error { out = append(out, o); return nil })
		return out, err
	}
	stored := make(map[string]*journal.Row, len(in.Rows))
	for i := range in.Rows {
		if r := &in.Rows[i]; r.Key != "" && (r.State == journal.Done || r.State == journal.Freed || stored[r.Key] == nil) {
			stored[r.Key] = r
		}
	}
	var out []storage.Object
	var ask []int
	err := kl.ListKeys(ctx, prefix, func(o storage.Object) error {
		r := stored[o.Key]
		// Under a shared prefix an object of another size may be another
		// device's file: its metadata tells.
		settled := r != nil && (r.State != journal.Done && r.State != journal.Freed ||
			o.Size != r.Size && in.Device == "" || r.ETag != "" && o.ETag == r.ETag)
		if !settled && (r != nil || in.Device != "") {
			ask = append(ask, len(out))
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, i := range ask {
		g.Go(func() error {
			o, err := st.Stat(gctx, out[i].Key)
			if errors.Is(err, storage.ErrNotFound) {
				out[i].Key = "" // deleted since it was listed
				return nil
			}
			out[i].Meta = o.Meta
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(o storage.Object) bool { return o.Key == "" }), nil
}

func rootMap(roots []Root) map[string]string {
	m := make(map[string]string, len(roots))
	for _, r := range roots {
		m[r.Name] = r.Path
	}
	return m
}

// Survey walks the roots as a scan does and calls fn with every media file
// the filter wants, every media file an exclude rule leaves out (with the
// rule), and every file or folder that cannot be read. tracked says
// whether the journal holds a file: one it holds is media without being
// opened.
func Survey(ctx context.Context, roots []Root, filter *media.Filter, tracked func(root, rel string) bool, fn func(verify.Local)) error {
	for _, root := range roots {
		if _, err := os.Stat(root.Path); err != nil {
			fn(verify.Local{Root: root.Name, Abs: root.Path, Err: fmt.Errorf("cannot read folder %s: %w", root.Name, err)})
			continue
		}
		onErr := func(path string, err error) { fn(verify.Local{Root: root.Name, Abs: path, Err: err}) }
		err := walk(root, func(f Found) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			surveyOne(f, filter, tracked(root.Name, f.Rel), fn)
			return nil
		}, nil, onErr)
		if err != nil {
			return err
		}
	}
	return nil
}

// surveyOne tells fn of f if it is media, as scanner.wanted decides.
func surveyOne(f Found, filter *media.Filter, tracked bool, fn func(verify.Local)) {
	l := verify.Local{Root: f.Root.Name, Rel: f.Rel, Abs: f.Abs, Identity: journal.IdentityOf(f.Info)}
	v, rule := filter.Globs(f.Rel)
	if v == media.NotIncluded || f.Info.Size() == 0 {
		return
	}
	if v == media.Excluded {
		l.Excluded = media.ExcludedBy(rule)
	}
	if v != media.Included && !tracked {
		fh, err := os.Open(f.Abs)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			l.Err = fmt.Errorf("cannot read: %w", err)
			fn(l)
			return
		}
		_, ok := filter.Classify(f.Rel, fh)
		fh.Close()
		if !ok {
			return
		}
	}
	fn(l)
}

// RepairFile names a file verify found not stored whole.
type RepairFile struct {
	Root string `json:"root"`
	Path string `json:"path"` // slash-separated, inside the root
	// NewKey: its key holds another device's file now; it is stored
	// under a new key, and that object is left alone.
	NewKey bool `json:"new_key,omitempty"`
}

// RepairResult says what a repair queued, and what it left and why.
type RepairResult struct {
	Queued int          `json:"queued"`
	Left   []RepairLeft `json:"left,omitempty"`
}

// RepairLeft is a file a repair could not queue.
type RepairLeft struct {
	RepairFile
	Why string `json:"why"`
}

// Repair makes the files pending again and queues their upload now
// (`cloudkeep verify --repair` while the agent runs). A file no longer on
// the disk is left: a freed one's copy is in the trash.
func (a *Agent) Repair(ctx context.Context, files []RepairFile) (RepairResult, error) {
	var res RepairResult
	roots := map[string]Root{}
	for _, r := range a.Roots {
		roots[r.Name] = r
	}
	var jobs []job
	newKey := map[int64]bool{}
	for _, f := range files {
		j, why, err := a.repairJob(ctx, roots, f)
		if err != nil {
			return res, err
		}
		if why != "" {
			res.Left = append(res.Left, RepairLeft{f, why})
			continue
		}
		if f.NewKey {
			newKey[j.file.ID] = true
		}
		jobs = append(jobs, j)
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.file.ID
	}
	if _, err := a.Journal.Repend(ctx, ids, newKey); err != nil {
		return res, err
	}
	for _, j := range jobs {
		j.file.State = journal.Pending
		if newKey[j.file.ID] {
			j.file.Key, j.file.ETag = "", ""
		}
		a.queue.push(j)
	}
	res.Queued = len(jobs)
	if res.Queued > 0 {
		a.verifyAgain()
	}
	a.Log.Info().Int("files", res.Queued).Int("left", len(res.Left)).Msg("verify --repair: files queued again")
	return res, nil
}

// repairJob returns the upload of f, or why there is none.
func (a *Agent) repairJob(ctx context.Context, roots map[string]Root, f RepairFile) (job, string, error) {
	root, ok := roots[f.Root]
	if !ok || !filepath.IsLocal(filepath.FromSlash(f.Path)) {
		return job{}, "not a watched folder", nil
	}
	row, err := a.Journal.Lookup(ctx, f.Root, f.Path)
	if err != nil && !errors.Is(err, journal.ErrNotFound) {
		return job{}, "", err
	}
	if err == nil && row.State == journal.Freed {
		return job{}, "freed locally: restore it from the trash", nil
	}
	abs := filepath.Join(root.Path, filepath.FromSlash(f.Path))
	fi, err := os.Stat(abs)
	if err != nil {
		return job{}, "not on the disk", nil
	}
	row, _, err = a.Journal.Track(ctx, f.Root, f.Path, journal.IdentityOf(fi))
	if err != nil {
		return job{}, "", err
	}
	return a.scan.job(row, root), "", nil
}
