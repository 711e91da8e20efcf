package uploader_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// versions returns the versions of key in a bucket with versioning on: one
// per write, so a copy of the object onto itself would show as a second.
func (e *env) versions(t *testing.T, key string) int {
	t.Helper()
	n := 0
	opts := minio.ListObjectsOptions{Prefix: key, WithVersions: true}
	for o := range e.srv.Client.ListObjects(context.Background(), e.srv.Bucket, opts) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

func (e *env) enableVersioning(t *testing.T) {
	t.Helper()
	if err := e.srv.Client.EnableVersioning(context.Background(), e.srv.Bucket); err != nil {
		t.Fatal(err)
	}
}

// A multipart upload, fresh or resumed, writes its object once, with its
// metadata (sha256, mtime, device) from the start: no copy onto itself.
func TestUploader_MultipartStoredOnce(t *testing.T) {
	e := newEnv(t)
	e.enableVersioning(t)
	up := e.uploader(uploader.Config{})
	path, sum := e.file(t, "fresh.mp4", 23*MiB, 5)
	key := "alice/laptop/pictures/fresh.mp4"
	if _, err := up.Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: key}); err != nil {
		t.Fatal(err)
	}
	e.assertObject(t, key, sum, 23*MiB)
	if n := e.versions(t, key); n != 1 {
		t.Errorf("fresh upload: %d versions of %s, want 1", n, key)
	}

	path, sum = e.file(t, "resumed.mp4", 40*MiB, 6)
	key = "alice/laptop/pictures/resumed.mp4"
	id := e.track(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	job := uploader.Job{FileID: id, Path: path, Key: key, Progress: func(int64) {
		if m, err := e.journal.Multipart(context.Background(), id); err == nil && len(m.Parts) >= 2 {
			cancel()
		}
	}}
	slow := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 20 * MiB})
	if _, err := slow.Upload(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: got %v, want context.Canceled", err)
	}
	m, err := e.journal.Multipart(context.Background(), id)
	if err != nil || m.SHA256 != sum || m.CRC32C == "" {
		t.Fatalf("journaled upload: sha256 %q crc32c %q (%v), want the file's hashes (%s)", m.SHA256, m.CRC32C, err, sum)
	}
	job.Progress = nil
	res, err := up.Upload(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != sum {
		t.Errorf("resumed upload: result sha256 %s, want %s", res.SHA256, sum)
	}
	e.assertObject(t, key, sum, 40*MiB)
	if n := e.versions(t, key); n != 1 {
		t.Errorf("resumed upload: %d versions of %s, want 1", n, key)
	}
	e.assertNoIncomplete(t)
}

// A file changed in place after its upload began, with its identity kept
// (same size, mtime and inode), is caught when its parts do not add up to
// the CRC32C journaled at the start: the upload starts over with the new
// content.
func TestUploader_ResumeCatchesContentChangedInPlace(t *testing.T) {
	e := newEnv(t)
	path, _ := e.file(t, "clip.mp4", 12*MiB, 8)
	key := "alice/laptop/pictures/clip.mp4"
	id := e.track(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	job := uploader.Job{FileID: id, Path: path, Key: key, Progress: func(int64) {
		if m, err := e.journal.Multipart(context.Background(), id); err == nil && len(m.Parts) >= 1 {
			cancel()
		}
	}}
	up := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 10 * MiB})
	up.Upload(ctx, job)
	if m, err := e.journal.Multipart(context.Background(), id); err != nil || len(m.Parts) == 0 || len(m.Parts) == 3 {
		t.Fatalf("set-up: want an upload with some parts, got %+v %v", m, err)
	}
	sum := rewriteKeepingIdentity(t, e, path, 9)
	job.Progress = nil
	res, err := e.uploader(uploader.Config{}).Upload(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != sum {
		t.Errorf("result sha256 %s, want the new content's %s", res.SHA256, sum)
	}
	e.assertObject(t, key, sum, 12*MiB)
	e.assertNoIncomplete(t)
}

// rewriteKeepingIdentity writes new bytes over the file at path, in place,
// then sets its mtime back: size, mtime and inode stay those journaled. It
// returns the new content's SHA-256.
func rewriteKeepingIdentity(t *testing.T, e *env, path string, seed uint64) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp, sum := e.file(t, "new-content", fi.Size(), seed)
	data, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	return sum
}

// progressSampler sums the progress an upload reports.
type progressSampler struct {
	total atomic.Int64
	early bool // progress seen before the first part was acknowledged
}

func (p *progressSampler) add(n int64)  { p.total.Add(n) }
func (p *progressSampler) value() int64 { return p.total.Load() }

// A bandwidth-limited upload of a file four parts long reports progress as
// its bytes go out: before the first part is acknowledged, never more than
// the server has received plus one part, never all of it before the upload
// ends.
func TestUploader_ProgressCountsBytesSent(t *testing.T) {
	e := newEnv(t)
	const size = 20 * MiB
	path, sum := e.file(t, "limited.mp4", size, 11)
	key := "alice/laptop/pictures/limited.mp4"
	id := e.track(t, path)
	up := e.uploader(uploader.Config{PartsInFlight: 2, BandwidthLimit: 8 * MiB})
	p := &progressSampler{}
	done := make(chan error, 1)
	go func() {
		_, err := up.Upload(context.Background(), uploader.Job{FileID: id, Path: path, Key: key, Progress: p.add})
		done <- err
	}()
	samples := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if got := p.value(); got != size {
				t.Errorf("progress at the end: %d, want %d", got, size)
			}
			if samples < 10 {
				t.Errorf("only %d samples: the upload was too fast to watch", samples)
			}
			if !p.early {
				t.Error("no progress was reported before the first part was acknowledged")
			}
			e.assertObject(t, key, sum, size)
			return
		case <-time.After(20 * time.Millisecond):
		}
		samples++
		got, received := p.value(), e.proxy.Sent()
		parts := -1 // no upload journaled: not begun, or completed since
		if m, err := e.journal.Multipart(context.Background(), id); err == nil {
			parts = len(m.Parts)
		} else if !errors.Is(err, journal.ErrNotFound) {
			t.Fatal(err)
		}
		if got > received+5*MiB {
			t.Errorf("progress %d, but the server received only %d bytes", got, received)
		}
		if got >= size && parts >= 0 && parts < 4 {
			t.Errorf("progress %d of %d with %d of 4 parts journaled", got, size, parts)
		}
		if got > 0 && parts == 0 {
			p.early = true
		}
	}
}
