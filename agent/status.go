package agent

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// Agent states.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StatePaused   = "paused"
	StateStopping = "stopping"
	// StateSignedOut: the device's sign-in was revoked or never made;
	// files are watched and journaled, and uploaded after `cloudkeep login`.
	StateSignedOut = "signed out"
)

// Status is what the agent reports on its control socket.
type Status struct {
	State string `json:"state"`
	Quota string `json:"quota,omitempty"` // why uploads wait for space, e.g. "storage quota reached (48.9 of 50 GiB)"
	// StateFull says why uploads wait while the state directory's disk is
	// full, e.g. "state_dir /x is full: free space; …".
	StateFull string               `json:"state_full,omitempty"`
	Storage   storage.HealthStatus `json:"storage"`
	// StorageProblem is what the start check found wrong with the storage
	// that only a new config mends, e.g. "storage refused the credentials: …".
	StorageProblem string         `json:"storage_problem,omitempty"`
	Now            time.Time      `json:"now"`
	Device         string         `json:"device"`
	Account        string         `json:"account,omitempty"` // the signed-in account, in account mode
	StartedAt      time.Time      `json:"started_at"`
	Roots          []RootHealth   `json:"roots"`
	Queue          QueueStatus    `json:"queue"`
	Uploads        []UploadStatus `json:"uploads"`
	Errors         []ErrorEntry   `json:"errors"`
	Totals         Totals         `json:"totals"`
	Recent         []Recent       `json:"recent"`
	Verify         *VerifyStatus  `json:"verify,omitempty"` // the last light verify; nil before the first
	Rules          *RulesStatus   `json:"rules,omitempty"`  // what the upload rules say; nil without rules
	Alerts         []AlertStatus  `json:"alerts,omitempty"` // alerts open
}

// UploadStatus is one upload in flight.
type UploadStatus struct {
	Path    string  `json:"path"`
	Key     string  `json:"key"`
	Size    int64   `json:"size"`
	Done    int64   `json:"done"`
	Percent float64 `json:"percent"`
	// Held is the rule holding the upload between parts, e.g.
	// "rules.windows"; "" while it goes.
	Held string `json:"held,omitempty"`
}

// ErrorEntry is a recent failure.
type ErrorEntry struct {
	Time  time.Time `json:"time"`
	Path  string    `json:"path"`
	Error string    `json:"error"`
}

// Recent is a file stored lately.
type Recent struct {
	ID   int64     `json:"id"`
	Path string    `json:"path"`
	Key  string    `json:"key"`
	Size int64     `json:"size"`
	Time time.Time `json:"time"`
	How  string    `json:"how"` // uploaded, copied, already stored
}

// Totals count what was done since the agent started.
type Totals struct {
	Uploaded      int       `json:"uploaded"`             // sent
	Copied        int       `json:"copied"`               // copied on the server (renamed files)
	AlreadyStored int       `json:"already_stored"`       // found stored with the same content: nothing sent
	Vanished      int       `json:"vanished"`             // deleted before their upload
	Skipped       int       `json:"skipped"`              // taken before media.since: not backed up
	Failed        int       `json:"failed"`               // uploads that failed, files that could not be read
	Bytes         int64     `json:"bytes"`                // sent
	LastUpload    time.Time `json:"last_upload,omitzero"` // when a file was last uploaded or copied (also before this start)
}

const (
	maxErrors = 20
	maxRecent = 12
	// maxFailing bounds the files whose failures are remembered, to be
	// cleared once they are stored.
	maxFailing = 10000
)

// tracker keeps the live part of Status: uploads, errors and totals.
type tracker struct {
	mu      sync.Mutex
	state   string
	quota   string           // the storage's refusal for lack of space; "" when there is room
	full    string           // why the state disk cannot be written; "" when it can
	waiting map[string]int64 // files not journaled for lack of room, by path: their size
	started time.Time
	uploads map[int64]*inflight
	errors  []ErrorEntry
	// failures counts the failures in totals by file, until it is stored;
	// at most maxFailing files.
	failures map[string]int
	recent   []Recent
	totals   Totals
	metrics  *metrics // may be nil
}

type inflight struct {
	job
	done atomic.Int64
}

func newTracker() *tracker {
	return &tracker{state: StateStarting, started: time.Now(), uploads: map[int64]*inflight{}, failures: map[string]int{}}
}

func (t *tracker) setState(s string) {
	t.mu.Lock()
	t.state = s
	t.mu.Unlock()
}

// setQuota records why uploads wait for space ("" for none) and reports
// whether that changed.
func (t *tracker) setQuota(msg string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := t.quota != msg
	t.quota = msg
	return changed
}

// setStateFull records why the state disk cannot be written ("" when it
// can) and reports whether that changed. With room again, the files that
// waited for it are forgotten: the rescan that follows journals them.
func (t *tracker) setStateFull(msg string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := t.full != msg
	t.full = msg
	if msg == "" {
		t.waiting = nil
	}
	return changed
}

// waitRoom counts a file that could not be journaled because the state
// disk is full: it waits for room, and the status shows it as queued.
func (t *tracker) waitRoom(path string) {
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waiting == nil {
		t.waiting = map[string]int64{}
	}
	t.waiting[path] = size
}

// withWaiting adds the files waiting for room on the state disk to q.
func (t *tracker) withWaiting(q QueueStatus) QueueStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, size := range t.waiting {
		q.Files++
		q.Bytes += size
	}
	return q
}

// stateFull reports whether the state disk is full.
func (t *tracker) stateFull() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.full != ""
}

// begin records an upload and returns its progress callback.
func (t *tracker) begin(j job) func(int64) {
	f := &inflight{job: j}
	t.mu.Lock()
	t.uploads[j.file.ID] = f
	t.mu.Unlock()
	return func(n int64) { f.done.Add(n) }
}

// end records how an upload ended; err is why, for a failure.
func (t *tracker) end(j job, o outcome, res uploader.Result, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.uploads, j.file.ID)
	if o.stored() {
		t.cleared(j.abs)
	}
	switch o {
	case outStored:
		t.totals.Uploaded++
		t.totals.Bytes += res.Sent
		t.totals.LastUpload = time.Now()
		t.remember(j, o, res)
	case outCopied:
		t.totals.Copied++
		t.totals.LastUpload = time.Now()
		t.remember(j, o, res)
	case outAlreadyStored:
		t.totals.AlreadyStored++
		t.remember(j, o, res)
	case outVanished:
		t.totals.Vanished++
	case outSkipped:
		t.totals.Skipped++
	case outFailed:
		t.failed(j.abs, err)
	}
	t.metrics.observe(o, res)
}

// fail records a file that could not be read or journaled (a scan error):
// no upload began.
func (t *tracker) fail(path string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed(path, err)
	t.metrics.fail()
}

// failed counts a failure and keeps its error; t.mu is held.
func (t *tracker) failed(path string, err error) {
	t.totals.Failed++
	if len(t.failures) < maxFailing {
		t.failures[path]++
	}
	t.errors = append(t.errors, ErrorEntry{Time: time.Now(), Path: path, Error: err.Error()})
	if len(t.errors) > maxErrors {
		t.errors = t.errors[len(t.errors)-maxErrors:]
	}
}

// cleared forgets the failures of the file at path, now stored: the failed
// count and the recent errors are of files not stored; t.mu is held.
func (t *tracker) cleared(path string) {
	t.errors = slices.DeleteFunc(t.errors, func(e ErrorEntry) bool { return e.Path == path })
	t.totals.Failed -= min(t.failures[path], t.totals.Failed)
	delete(t.failures, path)
}

func (t *tracker) remember(j job, o outcome, res uploader.Result) {
	t.recent = append(t.recent, Recent{ID: j.file.ID, Path: j.abs, Key: res.Key, Size: res.Size, Time: time.Now(), How: o.String()})
	if len(t.recent) > maxRecent {
		t.recent = t.recent[len(t.recent)-maxRecent:]
	}
}

func (t *tracker) fill(s *Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.State, s.Quota, s.StateFull, s.StartedAt, s.Totals, s.Now = t.state, t.quota, t.full, t.started, t.totals, time.Now()
	s.Errors = append(make([]ErrorEntry, 0, len(t.errors)), t.errors...)
	s.Recent = make([]Recent, 0, len(t.recent)) // newest first
	for _, r := range slices.Backward(t.recent) {
		s.Recent = append(s.Recent, r)
	}
	s.Uploads = make([]UploadStatus, 0, len(t.uploads))
	for _, f := range t.uploads {
		u := UploadStatus{Path: f.abs, Key: f.key, Size: f.file.Size, Done: f.done.Load()}
		if u.Size > 0 {
			u.Percent = float64(u.Done) * 100 / float64(u.Size)
		}
		s.Uploads = append(s.Uploads, u)
	}
}
