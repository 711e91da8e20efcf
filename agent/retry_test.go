package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// A file whose upload was cut by six crashes (six attempts in the journal)
// and then fails once is tried again after RetryBase, not after a delay
// doubled for every crash.
func TestAgent_RetryAfterCrashesWaitsBase(t *testing.T) {
	const base = 300 * time.Millisecond
	upCfg := uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 4}
	a, srv, photos := newTestAgent(t, upCfg, storage.Backoff{Attempts: 2, Base: 10 * time.Millisecond, Cap: 10 * time.Millisecond})
	a.RetryBase = base
	ctx := context.Background()
	path := filepath.Join(photos, "IMG_1.jpg")
	if err := os.WriteFile(path, photoBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	fi, _ := os.Stat(path)
	row, _, err := a.Journal.Track(ctx, "pictures", "IMG_1.jpg", journal.IdentityOf(fi))
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		a.Journal.MarkUploading(ctx, row.ID)
	}
	// The first attempt after the restart fails: the bucket is missing.
	if err := srv.Client.RemoveBucket(ctx, srv.Bucket); err != nil {
		t.Fatal(err)
	}

	a.Init()
	run, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(run) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if f, err := a.Journal.Get(ctx, row.ID); err == nil && f.State == journal.Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload did not fail")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Client.MakeBucket(ctx, srv.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitStored(t, srv, "alice/laptop/pictures/IMG_1.jpg")
	if took := time.Since(start); took > 10*base {
		t.Errorf("tried again %s after the failure, want about %s (RetryBase)", took.Round(time.Millisecond), base)
	}
}
