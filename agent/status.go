package agent

import (
	"sync"
	"sync/atomic"
	"time"

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
	State     string         `json:"state"`
	Device    string         `json:"device"`
	StartedAt time.Time      `json:"started_at"`
	Roots     []RootHealth   `json:"roots"`
	Queue     QueueStatus    `json:"queue"`
	Uploads   []UploadStatus `json:"uploads"`
	Errors    []ErrorEntry   `json:"errors"`
	Totals    Totals         `json:"totals"`
}

// UploadStatus is one upload in flight.
type UploadStatus struct {
	Path    string  `json:"path"`
	Key     string  `json:"key"`
	Size    int64   `json:"size"`
	Done    int64   `json:"done"`
	Percent float64 `json:"percent"`
}

// ErrorEntry is a recent failure.
type ErrorEntry struct {
	Time  time.Time `json:"time"`
	Path  string    `json:"path"`
	Error string    `json:"error"`
}

// Totals count what was done since the agent started.
type Totals struct {
	Uploaded   int       `json:"uploaded"`
	Copied     int       `json:"copied"`
	Skipped    int       `json:"skipped"`
	Failed     int       `json:"failed"`
	Bytes      int64     `json:"bytes"`
	LastUpload time.Time `json:"last_upload,omitzero"`
}

const maxErrors = 20

// tracker keeps the live part of Status: uploads, errors and totals.
type tracker struct {
	mu      sync.Mutex
	state   string
	started time.Time
	uploads map[int64]*inflight
	errors  []ErrorEntry
	totals  Totals
}

type inflight struct {
	job
	done atomic.Int64
}

func newTracker() *tracker {
	return &tracker{state: StateStarting, started: time.Now(), uploads: map[int64]*inflight{}}
}

func (t *tracker) setState(s string) {
	t.mu.Lock()
	t.state = s
	t.mu.Unlock()
}

// begin records an upload and returns its progress callback.
func (t *tracker) begin(j job) func(int64) {
	f := &inflight{job: j}
	t.mu.Lock()
	t.uploads[j.file.ID] = f
	t.mu.Unlock()
	return func(n int64) { f.done.Add(n) }
}

// end records an upload's outcome.
func (t *tracker) end(j job, res uploader.Result, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.uploads, j.file.ID)
	switch {
	case err != nil:
		t.totals.Failed++
		t.errors = append(t.errors, ErrorEntry{Time: time.Now(), Path: j.abs, Error: err.Error()})
		if len(t.errors) > maxErrors {
			t.errors = t.errors[len(t.errors)-maxErrors:]
		}
	case res.Skipped:
		t.totals.Skipped++
	case res.Copied:
		t.totals.Copied++
		t.totals.LastUpload = time.Now()
	default:
		t.totals.Uploaded++
		t.totals.Bytes += res.Sent
		t.totals.LastUpload = time.Now()
	}
}

func (t *tracker) fill(s *Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.State, s.StartedAt, s.Totals = t.state, t.started, t.totals
	s.Errors = append([]ErrorEntry(nil), t.errors...)
	s.Uploads = make([]UploadStatus, 0, len(t.uploads))
	for _, f := range t.uploads {
		u := UploadStatus{Path: f.abs, Key: f.key, Size: f.file.Size, Done: f.done.Load()}
		if u.Size > 0 {
			u.Percent = float64(u.Done) * 100 / float64(u.Size)
		}
		s.Uploads = append(s.Uploads, u)
	}
}
