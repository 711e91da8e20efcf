package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// loopAgent is an agent ready to run its upload loop by hand, not started.
func loopAgent(t *testing.T, tune func(*Agent)) *Agent {
	t.Helper()
	a, _, _ := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2, Base: time.Millisecond, Cap: time.Millisecond})
	a.Files = 1
	if tune != nil {
		tune(a)
	}
	a.Init()
	a.track.metrics = newMetrics(prometheus.NewRegistry(), a)
	return a
}

// trackedJob journals the file rel of a's root (written with content unless
// content is nil) and returns its upload.
func trackedJob(t *testing.T, a *Agent, rel string, content []byte) job {
	t.Helper()
	r := a.Roots[0]
	abs := filepath.Join(r.Path, rel)
	if err := os.WriteFile(abs, photoBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		t.Fatal(err)
	}
	row, _, err := a.Journal.Track(context.Background(), r.Name, rel, journal.IdentityOf(info))
	if err != nil {
		t.Fatal(err)
	}
	if content == nil {
		os.Remove(abs)
	}
	return a.scan.job(row, r)
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Only a file stored counts as uploaded: one that vanished before its
// upload, an upload cut short by a stop, or one refused for a sign-out is
// neither uploaded nor failed, in the status and in the metrics.
func TestAgent_UploadOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		vanished bool
		stopped  bool
		signed   bool // false: signed out
		uploaded int
		want     outcome
	}{
		{name: "stored", signed: true, uploaded: 1, want: outStored},
		{name: "vanished", vanished: true, signed: true, want: outVanished},
		{name: "interrupted", stopped: true, signed: true, want: outInterrupted},
		{name: "signed out", want: outSignedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := loopAgent(t, func(a *Agent) {
				if !tc.signed {
					a.Keys.UserOf = func() string { return "" }
				}
			})
			content := photoBytes
			if tc.vanished {
				content = nil
			}
			j := trackedJob(t, a, "IMG_1.jpg", content)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.stopped {
				cancel()
			}
			a.upload(ctx, j)

			var s Status
			a.track.fill(&s)
			if s.Totals.Uploaded != tc.uploaded || s.Totals.Failed != 0 {
				t.Errorf("totals: got %d uploaded, %d failed; want %d, 0", s.Totals.Uploaded, s.Totals.Failed, tc.uploaded)
			}
			if got := !s.Totals.LastUpload.IsZero(); got != (tc.uploaded > 0) {
				t.Errorf("last upload set: got %v, want %v", got, tc.uploaded > 0)
			}
			m := a.track.metrics
			if got := counter(t, m.files); got != float64(tc.uploaded) {
				t.Errorf("cloudkeep_uploaded_files_total: got %v, want %d", got, tc.uploaded)
			}
			if got := counter(t, m.failed); got != 0 {
				t.Errorf("cloudkeep_upload_failures_total: got %v, want 0", got)
			}
			if got := counter(t, m.outcomes.WithLabelValues(tc.want.label())); got != 1 {
				t.Errorf("cloudkeep_upload_outcomes_total{outcome=%q}: got %v, want 1", tc.want.label(), got)
			}
			if got, want := s.Totals.Vanished, b2i(tc.vanished); got != want {
				t.Errorf("totals: got %d vanished, want %d", got, want)
			}
			if tc.want == outSignedOut && (s.State != StateSignedOut || a.queue.status().Files != 1) {
				t.Errorf("signed out: got state %q, %d file(s) queued; want %q, the file held", s.State, a.queue.status().Files, StateSignedOut)
			}
		})
	}
}

// A renamed file is copied on the server: the backup's summary counts it
// as copied, not as uploaded.
func TestBackup_SummaryCountsCopies(t *testing.T) {
	a := loopAgent(t, nil)
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 1, Log: zerolog.Nop()}
	dir := a.Roots[0].Path
	if err := os.WriteFile(filepath.Join(dir, "a.jpg"), photoBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, err := b.Run(context.Background()); err != nil || sum.Uploaded != 1 {
		t.Fatalf("first backup: got %+v, %v; want 1 uploaded", sum, err)
	}
	if err := os.Rename(filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.jpg")); err != nil {
		t.Fatal(err)
	}
	sum, err := b.Run(context.Background())
	if err != nil || len(sum.Failed) != 0 {
		t.Fatalf("second backup: %v, %v", err, sum.Failed)
	}
	if sum.Uploaded != 0 || sum.Sent != 0 || sum.Copied != 1 {
		t.Errorf("after a rename: got %d uploaded, %d copied, %d bytes sent; want 0, 1, 0", sum.Uploaded, sum.Copied, sum.Sent)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Each outcome lands in its own counter of the status and the metrics,
// and only a file uploaded or copied moves LastUpload.
func TestTracker_End(t *testing.T) {
	res := uploader.Result{Key: "k", Sent: 10, Duration: time.Second}
	tests := []struct {
		o            outcome
		want         Totals // LastUpload: zero or not
		files, bytes float64
		failed       float64
		recent       string // the How of the recent entry, "" for none
	}{
		{o: outStored, want: Totals{Uploaded: 1, Bytes: 10, LastUpload: time.Unix(1, 0)}, files: 1, bytes: 10, recent: "uploaded"},
		{o: outCopied, want: Totals{Copied: 1, LastUpload: time.Unix(1, 0)}, files: 1, recent: "copied"},
		{o: outAlreadyStored, want: Totals{AlreadyStored: 1}, recent: "already stored"},
		{o: outVanished, want: Totals{Vanished: 1}},
		{o: outInterrupted},
		{o: outSignedOut},
		{o: outQuota},
		{o: outFailed, want: Totals{Failed: 1}, failed: 1},
	}
	for _, tc := range tests {
		t.Run(tc.o.String(), func(t *testing.T) {
			a := &Agent{}
			a.Init()
			tr := a.track
			tr.metrics = newMetrics(prometheus.NewRegistry(), a)
			j := job{file: journal.File{ID: 7}, abs: "/p/IMG_1.jpg"}
			tr.begin(j)
			var err error
			if !tc.o.stored() && tc.o != outVanished {
				err = context.Canceled
			}
			r := res
			if tc.o == outCopied || tc.o == outAlreadyStored {
				r.Sent = 0
			}
			tr.end(j, tc.o, r, err)

			var s Status
			tr.fill(&s)
			got := s.Totals
			if got.LastUpload.IsZero() != tc.want.LastUpload.IsZero() {
				t.Errorf("last upload: got %v, want set %v", got.LastUpload, !tc.want.LastUpload.IsZero())
			}
			got.LastUpload = tc.want.LastUpload
			if got != tc.want {
				t.Errorf("totals: got %+v, want %+v", got, tc.want)
			}
			if len(s.Uploads) != 0 {
				t.Errorf("got %d upload(s) in flight, want 0", len(s.Uploads))
			}
			if n := len(s.Errors); n != int(tc.failed) {
				t.Errorf("got %d error(s), want %v", n, tc.failed)
			}
			if how := recentHow(s.Recent); how != tc.recent {
				t.Errorf("recent: got %q, want %q", how, tc.recent)
			}
			m := tr.metrics
			for name, c := range map[string]struct {
				got  float64
				want float64
			}{
				"cloudkeep_uploaded_files_total":  {counter(t, m.files), tc.files},
				"cloudkeep_uploaded_bytes_total":  {counter(t, m.bytes), tc.bytes},
				"cloudkeep_upload_failures_total": {counter(t, m.failed), tc.failed},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", name, c.got, c.want)
				}
			}
			for _, o := range outcomes {
				want := float64(b2i(o == tc.o))
				if got := counter(t, m.outcomes.WithLabelValues(o.label())); got != want {
					t.Errorf("cloudkeep_upload_outcomes_total{outcome=%q}: got %v, want %v", o.label(), got, want)
				}
			}
		})
	}
}

func recentHow(r []Recent) string {
	if len(r) == 0 {
		return ""
	}
	return r[0].How // newest first
}

// A file the scan could not read is a failure with its path, and takes no
// upload in flight with it.
func TestTracker_Fail(t *testing.T) {
	a := &Agent{}
	a.Init()
	tr := a.track
	tr.metrics = newMetrics(prometheus.NewRegistry(), a)
	tr.begin(job{file: journal.File{ID: 0}, abs: "/p/in-flight.mov"})
	tr.fail("/p/unreadable.jpg", os.ErrPermission)

	var s Status
	tr.fill(&s)
	if s.Totals.Failed != 1 || s.Totals.Uploaded != 0 || len(s.Errors) != 1 || s.Errors[0].Path != "/p/unreadable.jpg" {
		t.Errorf("got %+v, errors %+v; want 1 failed with the unreadable file's path", s.Totals, s.Errors)
	}
	if len(s.Uploads) != 1 {
		t.Errorf("got %d upload(s) in flight, want the 1 that was", len(s.Uploads))
	}
	if got := counter(t, tr.metrics.failed); got != 1 {
		t.Errorf("cloudkeep_upload_failures_total: got %v, want 1", got)
	}
}

// A file that failed, then was stored, no longer counts as failed, and its
// errors leave the status; other files' failures stay.
func TestTracker_StoredClearsFailure(t *testing.T) {
	tr := newTracker()
	a, b := job{abs: "/p/a.jpg", file: journal.File{ID: 1}}, job{abs: "/p/b.jpg", file: journal.File{ID: 2}}
	tr.end(a, outFailed, uploader.Result{}, errors.New("put: Access Denied."))
	tr.fail(a.abs, errors.New("cannot read: permission denied"))
	tr.end(b, outFailed, uploader.Result{}, errors.New("put: Access Denied."))
	tr.end(a, outStored, uploader.Result{Sent: 10}, nil)
	var s Status
	tr.fill(&s)
	if s.Totals.Failed != 1 || len(s.Errors) != 1 || s.Errors[0].Path != b.abs {
		t.Errorf("got %d failed, errors %v; want 1, of %s", s.Totals.Failed, s.Errors, b.abs)
	}
}
