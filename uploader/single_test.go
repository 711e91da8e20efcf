package uploader_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// requests returns the requests the proxy forwarded with method.
func (e *env) requests(method string) []miniotest.Request {
	var out []miniotest.Request
	for _, r := range e.proxy.Requests() {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// A small file goes in one PUT whose payload is not signed: the server
// checks its bytes against the CRC32C header instead of hashing them for
// the signature. The request itself is signed.
func TestUploader_SinglePutIsUnsignedWithCRC32C(t *testing.T) {
	e := newEnv(t)
	path, sum := e.file(t, "small.jpg", 300<<10, 11)
	key := "alice/laptop/pictures/small.jpg"
	e.proxy.Reset()
	if _, err := e.uploader(uploader.Config{}).Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: key}); err != nil {
		t.Fatal(err)
	}
	e.assertObject(t, key, sum, 300<<10)
	puts := e.requests(http.MethodPut)
	if len(puts) != 1 {
		t.Fatalf("got %d PUT requests, want 1", len(puts))
	}
	h := puts[0].Header
	if got := h.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
		t.Errorf("X-Amz-Content-Sha256: got %q, want UNSIGNED-PAYLOAD", got)
	}
	if got, want := h.Get("X-Amz-Checksum-Crc32c"), crc32cOf(t, path); got != want {
		t.Errorf("X-Amz-Checksum-Crc32c: got %q, want %q", got, want)
	}
	if got := h.Get("Authorization"); !bytes.Contains([]byte(got), []byte("x-amz-checksum-crc32c")) {
		t.Errorf("Authorization %q: want a signature over x-amz-checksum-crc32c", got)
	}
}

func crc32cOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return uploader.CRC32C(b)
}

// A PUT whose body is corrupted on the way is refused by the server and
// sent again: the bucket holds the right bytes, in one version.
func TestUploader_CorruptedPutIsRetried(t *testing.T) {
	e := newEnv(t)
	e.enableVersioning(t)
	const size = 300 << 10
	path, sum := e.file(t, "photo.jpg", size, 12)
	key := "alice/laptop/pictures/photo.jpg"
	e.proxy.Reset()
	e.proxy.CorruptPuts(1)
	res, err := e.uploader(uploader.Config{}).Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: key})
	if err != nil {
		t.Fatalf("upload through a corrupting network: %v", err)
	}
	e.assertObject(t, key, sum, size)
	if n := e.versions(t, key); n != 1 {
		t.Errorf("%d versions of %s, want 1", n, key)
	}
	puts := e.requests(http.MethodPut)
	if len(puts) != 2 || !puts[0].Corrupted || puts[1].Corrupted {
		t.Errorf("PUTs: got %+v, want a corrupted one, then a whole one", puts)
	}
	if res.Sent != size {
		t.Errorf("result sent_bytes: got %d, want %d (the refused try is not counted)", res.Sent, size)
	}
}

// A write that lands after a small file was read, while its PUT is on the
// way, does not mix into what is sent: the PUT holds the bytes read (and
// hashed) once, and the re-stat after it sends the new content again.
func TestUploader_WriteDuringSinglePut(t *testing.T) {
	e := newEnv(t)
	e.enableVersioning(t)
	const size = 4 * MiB // below the 5 MiB threshold and part size: read once
	path, first := e.file(t, "burst.jpg", size, 13)
	key := "alice/laptop/pictures/burst.jpg"
	final := bytes.Repeat([]byte("final "), size)[:size]
	var once sync.Once
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key, Progress: func(int64) {
		once.Do(func() {
			if err := os.WriteFile(path, final, 0o644); err != nil {
				t.Error(err)
			}
			later := time.Now().Add(time.Second)
			os.Chtimes(path, later, later)
		})
	}}
	res, err := e.uploader(uploader.Config{}).Upload(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(final)
	e.assertObject(t, key, hex.EncodeToString(want[:]), size)
	if res.SHA256 != hex.EncodeToString(want[:]) {
		t.Errorf("result sha256: got %s, want the final content's", res.SHA256)
	}
	// The first version is the content as read, whole, with its own sha256.
	var oldest minio.ObjectInfo
	for o := range e.srv.Client.ListObjects(context.Background(), e.srv.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if oldest.VersionID == "" || o.LastModified.Before(oldest.LastModified) {
			oldest = o
		}
	}
	obj, err := e.srv.Client.GetObject(context.Background(), e.srv.Bucket, key, minio.GetObjectOptions{VersionID: oldest.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		t.Fatal(err)
	}
	info, _ := obj.Stat()
	if got := hex.EncodeToString(h.Sum(nil)); got != first || info.UserMetadata["Sha256"] != first {
		t.Errorf("first version: bytes %s, metadata %s; want both the content read, %s", got, info.UserMetadata["Sha256"], first)
	}
}

// A first backup of new files (Job.New) costs one listing of their folder
// and one PUT per file: no HEAD.
func TestUploader_NewFilesAreNotLookedFor(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	const n = 20
	e.proxy.Reset()
	for i := range n {
		path, sum := e.file(t, fmt.Sprintf("IMG_%02d.jpg", i), 20<<10, uint64(100+i))
		key := "alice/laptop/pictures/" + filepath.Base(path)
		if _, err := up.Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: key, New: true}); err != nil {
			t.Fatal(err)
		}
		e.assertObject(t, key, sum, 20<<10)
	}
	lists := 0
	for _, r := range e.requests(http.MethodGet) {
		if strings.Contains(r.Target, "list-type=2") {
			lists++
		}
	}
	if heads, puts := len(e.requests(http.MethodHead)), len(e.requests(http.MethodPut)); heads != 0 || puts != n || lists != 1 {
		t.Errorf("got %d HEAD, %d PUT and %d listing requests; want 0, %d, 1", heads, puts, lists, n)
	}
}

// Files new to a lost journal are found in the listing of their folder and
// looked for one by one: nothing is sent again. A file listed with another
// size is sent without a HEAD.
func TestUploader_LostJournalSendsNothingAgain(t *testing.T) {
	e := newEnv(t)
	var jobs []uploader.Job
	for i := range 5 {
		path, _ := e.file(t, fmt.Sprintf("IMG_%02d.jpg", i), 50<<10, uint64(200+i))
		jobs = append(jobs, uploader.Job{FileID: e.track(t, path), Path: path, Key: "alice/laptop/pictures/" + filepath.Base(path), New: true})
	}
	for _, j := range jobs {
		if _, err := e.uploader(uploader.Config{}).Upload(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	changed, sum := e.file(t, "IMG_04.jpg", 60<<10, 299)
	e.proxy.Reset()
	up := e.uploader(uploader.Config{}) // a new start: no listing yet
	for _, j := range jobs {
		res, err := up.Upload(context.Background(), j)
		if err != nil {
			t.Fatal(err)
		}
		if want := j.Path != changed; res.Skipped != want {
			t.Errorf("%s: skipped %v, want %v", j.Key, res.Skipped, want)
		}
	}
	if heads, puts := len(e.requests(http.MethodHead)), e.requests(http.MethodPut); heads != 4 || len(puts) != 1 || puts[0].Size != 60<<10 {
		t.Errorf("got %d HEAD and PUTs %+v; want 4 HEAD (the files listed with their size) and one PUT of the changed file", heads, puts)
	}
	e.assertObject(t, jobs[4].Key, sum, 60<<10)
}

// A file whose multipart upload was interrupted, then shrank below the
// threshold, goes in one PUT, and its upload is aborted: nothing is left
// on the server or in the journal. So too when the job was made before
// this Uploader began the upload (Job.New).
func TestUploader_ShrunkFileAbortsItsUpload(t *testing.T) {
	for _, isNew := range []bool{false, true} {
		t.Run(fmt.Sprintf("new=%v", isNew), func(t *testing.T) {
			e := newEnv(t)
			path, _ := e.file(t, "clip.mp4", 12*MiB, 3)
			key := "alice/laptop/pictures/clip.mp4"
			id := e.track(t, path)
			up := e.uploader(uploader.Config{PartsInFlight: 1})
			ctx, cancel := context.WithCancel(context.Background())
			job := uploader.Job{FileID: id, Path: path, Key: key, New: isNew, Progress: func(int64) { cancel() }}
			if _, err := up.Upload(ctx, job); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted upload: got %v, want context.Canceled", err)
			}
			if _, err := e.journal.Multipart(context.Background(), id); err != nil {
				t.Fatalf("set-up: the journal holds no upload: %v", err)
			}
			_, sum := e.file(t, "clip.mp4", 100<<10, 4)
			job.Progress = nil
			if _, err := up.Upload(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			e.assertObject(t, key, sum, 100<<10)
			e.assertNoIncomplete(t)
			if _, err := e.journal.Multipart(context.Background(), id); !errors.Is(err, journal.ErrNotFound) {
				t.Errorf("journal still holds the upload: %v", err)
			}
		})
	}
}
