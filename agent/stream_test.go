package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// writePhotos writes n photos in folders of 100 under dir, modified an
// hour ago (settled), and returns their keys under prefix.
func writePhotos(t *testing.T, dir string, n int, prefix string) []string {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	var keys []string
	for i := range n {
		rel := fmt.Sprintf("%03d/IMG_%04d.jpg", i/100, i)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, fmt.Appendf(slices.Clip(photoBytes), " %d", i), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, prefix+rel)
	}
	return keys
}

// logMessages returns the messages of the JSON log lines in out, in order.
func logMessages(t *testing.T, out string) []string {
	t.Helper()
	var msgs []string
	for line := range strings.Lines(out) {
		var m struct{ Message string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msgs = append(msgs, m.Message)
	}
	return msgs
}

// Backup uploads while it walks: with 2 workers and 500 files, the walk
// can only end once most files are taken (what waits between the walk and
// the workers is a few windows of 50), so the first file is stored before
// the "scanned" line, and every file is.
func TestBackup_UploadsWhileWalking(t *testing.T) {
	ctx := context.Background()
	a, srv, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	keys := writePhotos(t, dir, 500, "alice/laptop/pictures/")
	var out testbin.Buffer
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 2, Log: zerolog.New(&out)}
	sum, err := b.Run(ctx)
	if err != nil || sum.Uploaded != len(keys) || len(sum.Failed) != 0 {
		t.Fatalf("backup: %d uploaded, failed %v, %v; want %d", sum.Uploaded, sum.Failed, err, len(keys))
	}
	msgs := logMessages(t, out.String())
	first, scanned := slices.Index(msgs, "uploaded"), slices.Index(msgs, "scanned")
	if first < 0 || scanned < 0 || first > scanned {
		t.Errorf("log: first upload at line %d, scanned at line %d; want an upload before the walk ends", first, scanned)
	}
	for _, k := range []string{keys[0], keys[len(keys)-1]} {
		if got := stat(t, srv, k); got.Size <= int64(len(photoBytes)) {
			t.Errorf("%s: %d bytes in the bucket", k, got.Size)
		}
	}
}

// A start on a root whose every file is backed up and unchanged queues
// nothing, uploads nothing and says so.
func TestAgent_StartWithTrackedFilesQueuesNothing(t *testing.T) {
	var out testbin.Buffer
	a, srv, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	keys := writePhotos(t, dir, 3000, "alice/laptop/pictures/")
	for i, rel := range []string{"Trip/a.jpg", "Trip 2/b.jpg", "Trip.jpg"} { // walked in another order than their paths sort
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, fmt.Appendf(slices.Clip(photoBytes), " trip %d", i), 0o644); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, "alice/laptop/pictures/"+rel)
	}
	// Under a loaded machine a storage request may time out and a file
	// wait for the next pass: the backup is run until every file is stored.
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 2, Log: zerolog.Nop()}
	for pass := 1; ; pass++ {
		sum, err := b.Run(context.Background())
		if err != nil {
			t.Fatalf("backup pass %d: %v", pass, err)
		}
		if n, err := a.Journal.Totals(context.Background()); err == nil && n[journal.Done].Files == len(keys) {
			break
		}
		if pass == 3 {
			t.Fatalf("backup pass %d: %d uploaded, %d failed (first: %v); %d files", pass, sum.Uploaded, len(sum.Failed), firstFailure(sum), len(keys))
		}
	}
	a.Log = zerolog.New(&out)
	a.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Scanned():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the first scan did not finish")
	}
	status := a.Status()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var scanned map[string]any
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if m["message"] == "scanned" {
			scanned = m
		}
		if m["message"] == "uploaded" || m["message"] == "resuming unfinished uploads" {
			t.Errorf("start with every file backed up: %s", line)
		}
	}
	if scanned["unchanged"] != float64(len(keys)) || scanned["queued"] != 0.0 {
		t.Errorf("scanned: %v; want %d unchanged, 0 queued", scanned, len(keys))
	}
	if n, err := a.Journal.Totals(context.Background()); err != nil || n[journal.Done].Files != len(keys) {
		t.Errorf("journal: %+v, %v; want %d done, none deleted", n, err, len(keys))
	}
	if status.Queue.Files != 0 || status.Totals.Uploaded != 0 {
		t.Errorf("status after the first scan: %d queued, %d uploaded; want none", status.Queue.Files, status.Totals.Uploaded)
	}
	if n := count(t, srv); n != len(keys) {
		t.Errorf("bucket holds %d objects, want %d", n, len(keys))
	}
}

// count returns how many objects the bucket holds.
func count(t *testing.T, srv *miniotest.Server) int {
	t.Helper()
	n := 0
	for o := range srv.Client.ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

func firstFailure(s Summary) error {
	if len(s.Failed) == 0 {
		return nil
	}
	return s.Failed[0].Err
}
