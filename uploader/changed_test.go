package uploader_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/uploader"
)

// A video appended to after its parts went out is not completed with its
// old content: the bucket (versioned) holds one version, the final one.
func TestUploader_AppendBeforeCompleteIsNotStored(t *testing.T) {
	e := newEnv(t)
	e.enableVersioning(t)
	path, _ := e.file(t, "grow.mp4", 12*MiB, 7)
	key := "alice/laptop/pictures/grow.mp4"
	var once sync.Once
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key}
	job.Progress = func(int64) {
		if m, err := e.journal.Multipart(context.Background(), job.FileID); err == nil && len(m.Parts) >= 1 {
			once.Do(func() { appendTo(t, path, []byte("one more second of video")) })
		}
	}
	up := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 20 * MiB})
	if _, err := up.Upload(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	e.assertObject(t, key, hex.EncodeToString(sum[:]), int64(len(b)))
	if n := e.versions(t, key); n != 1 {
		t.Errorf("%d versions of %s, want 1: the old content was completed first", n, key)
	}
}

// A file deleted while its parts go out, whose upload is aborted under it
// (as the agent does for a file that is gone), ends as vanished: no error
// of a missing upload, nothing left on the storage.
func TestUploader_AbortedUnderItWhenDeleted(t *testing.T) {
	e := newEnv(t)
	path, _ := e.file(t, "gone.mp4", 15*MiB, 8)
	key := "alice/laptop/pictures/gone.mp4"
	var once sync.Once
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key}
	job.Progress = func(int64) {
		m, err := e.journal.Multipart(context.Background(), job.FileID)
		if err != nil || len(m.Parts) < 1 {
			return
		}
		once.Do(func() {
			os.Remove(path)
			core := minio.Core{Client: e.srv.Client}
			if err := core.AbortMultipartUpload(context.Background(), e.srv.Bucket, key, m.UploadID); err != nil {
				t.Error(err)
			}
		})
	}
	up := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 20 * MiB})
	_, err := up.Upload(context.Background(), job)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("upload of a deleted file aborted under it: %v, want a file that does not exist", err)
	}
	e.assertNoIncomplete(t)
}

func appendTo(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Error(err)
	}
}
