package uploader_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

const MiB = 1 << 20

// env is an uploader wired to a real MinIO (through a counting proxy) and a
// real journal.
type env struct {
	srv     *miniotest.Server
	proxy   *miniotest.Proxy
	journal *journal.Journal
	client  *minio.Client
	dir     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := miniotest.Start(t)
	proxy := miniotest.NewProxy(t, srv.Endpoint)
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	client, err := minio.New(proxy.Addr, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, proxy: proxy, journal: j, client: client, dir: t.TempDir()}
}

func (e *env) uploader(cfg uploader.Config) *uploader.Uploader {
	if cfg.Device == "" {
		cfg.Device = "laptop"
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 5 * MiB
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 5 * MiB
	}
	if cfg.PartsInFlight == 0 {
		cfg.PartsInFlight = 4
	}
	b := storage.Backoff{Attempts: 3, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond}
	st := storage.WithRetry(storage.NewDirect(e.client, e.srv.Bucket), b, zerolog.Nop(), nil)
	return uploader.New(st, e.journal, cfg, zerolog.Nop())
}

// file writes size pseudo-random bytes (seeded) and returns its path and
// the hex SHA-256 of its content.
func (e *env) file(t *testing.T, name string, size int64, seed uint64) (string, string) {
	t.Helper()
	path := filepath.Join(e.dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := io.LimitReader(rand.NewChaCha8(seedBytes(seed)), size)
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

func (e *env) track(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	row, _, err := e.journal.Track(context.Background(), "pictures", filepath.Base(path), journal.IdentityOf(fi))
	if err != nil {
		t.Fatal(err)
	}
	return row.ID
}

// assertObject checks the stored bytes hash to want and the metadata says so.
func (e *env) assertObject(t *testing.T, key, want string, size int64) {
	t.Helper()
	ctx := context.Background()
	obj, err := e.srv.Client.GetObject(ctx, e.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want || n != size {
		t.Errorf("object %s: got %d bytes sha256 %s, want %d bytes %s", key, n, got, size, want)
	}
	info, err := e.srv.Client.StatObject(ctx, e.srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.UserMetadata[wire.MetaSHA256]; got != want {
		t.Errorf("metadata sha256 of %s: got %q, want %q", key, got, want)
	}
	if got := info.UserMetadata[wire.MetaDevice]; got != "laptop" {
		t.Errorf("metadata device of %s: got %q, want laptop", key, got)
	}
	if _, err := time.Parse(time.RFC3339Nano, info.UserMetadata[wire.MetaMTime]); err != nil {
		t.Errorf("metadata mtime of %s: %v", key, err)
	}
}

func (e *env) assertNoIncomplete(t *testing.T) {
	t.Helper()
	for up := range e.srv.Client.ListIncompleteUploads(context.Background(), e.srv.Bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		t.Errorf("incomplete upload left: %s (%s)", up.Key, up.UploadID)
	}
}

func TestUploader_Upload(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"empty.jpg", 0},
		{"small.jpg", 12345},
		{"just-below.mp4", 5*MiB - 1},
		{"video.mp4", 100 * MiB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, sum := e.file(t, tc.name, tc.size, uint64(tc.size))
			key := "alice/laptop/pictures/" + tc.name
			res, err := up.Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			if res.SHA256 != sum || res.Sent != tc.size || res.Skipped {
				t.Errorf("result: got sha256 %s sent %d skipped %v, want %s %d false", res.SHA256, res.Sent, res.Skipped, sum, tc.size)
			}
			e.assertObject(t, key, sum, tc.size)
		})
	}
	e.assertNoIncomplete(t)
}

func TestUploader_SkipsStoredContent(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	for _, size := range []int64{1000, 12 * MiB} {
		path, sum := e.file(t, "f.mov", size, 7)
		key := "alice/laptop/pictures/f.mov"
		job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key}
		if _, err := up.Upload(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		e.proxy.Reset()
		res, err := up.Upload(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Skipped || res.SHA256 != sum {
			t.Errorf("size %d: second upload: got skipped %v sha %s, want skipped with %s", size, res.Skipped, res.SHA256, sum)
		}
		if sent := e.proxy.Sent(); sent > 64<<10 {
			t.Errorf("size %d: second upload sent %d bytes, want only requests without a body", size, sent)
		}
	}
}

// A crash is simulated by cancelling the upload once some parts are
// journaled; the second call must send only what is missing.
func TestUploader_ResumesAfterInterruption(t *testing.T) {
	e := newEnv(t)
	const size = 60 * MiB
	path, sum := e.file(t, "long.mp4", size, 42)
	key := "alice/laptop/pictures/long.mp4"
	id := e.track(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	slow := e.uploader(uploader.Config{PartsInFlight: 2, BandwidthLimit: 20 * MiB})
	job := uploader.Job{FileID: id, Path: path, Key: key, Progress: func(int64) {
		if m, err := e.journal.Multipart(context.Background(), id); err == nil && len(m.Parts) >= 3 {
			cancel()
		}
	}}
	if _, err := slow.Upload(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: got %v, want context.Canceled", err)
	}
	m, err := e.journal.Multipart(context.Background(), id)
	if err != nil {
		t.Fatalf("journal after interruption: %v", err)
	}
	if len(m.Parts) < 3 {
		t.Fatalf("journal holds %d parts, want at least 3", len(m.Parts))
	}
	e.proxy.Reset()
	job.Progress = nil
	res, err := e.uploader(uploader.Config{}).Upload(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	remainder := int64(size) - int64(len(m.Parts))*5*MiB
	if res.Sent > remainder || e.proxy.Sent() > remainder+5*MiB+256<<10 {
		t.Errorf("resume sent %d bytes (%d on the wire), want at most the remainder %d plus one part", res.Sent, e.proxy.Sent(), remainder)
	}
	e.assertObject(t, key, sum, size)
	e.assertNoIncomplete(t)
	if _, err := e.journal.Multipart(context.Background(), id); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("journal still holds the upload after completion: %v", err)
	}
}

func TestUploader_RestartsExpiredUpload(t *testing.T) {
	e := newEnv(t)
	path, sum := e.file(t, "clip.mp4", 12*MiB, 3)
	key := "alice/laptop/pictures/clip.mp4"
	id := e.track(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	up := e.uploader(uploader.Config{PartsInFlight: 1})
	job := uploader.Job{FileID: id, Path: path, Key: key, Progress: func(int64) { cancel() }}
	up.Upload(ctx, job)
	m, err := e.journal.Multipart(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// The server forgets the upload, as MinIO does after 24 hours.
	core := minio.Core{Client: e.srv.Client}
	if err := core.AbortMultipartUpload(context.Background(), e.srv.Bucket, key, m.UploadID); err != nil {
		t.Fatal(err)
	}
	job.Progress = nil
	if _, err := up.Upload(context.Background(), job); err != nil {
		t.Fatalf("upload after expiry: %v", err)
	}
	e.assertObject(t, key, sum, 12*MiB)
}

func TestUploader_FileRewrittenDuringUpload(t *testing.T) {
	e := newEnv(t)
	const size = 30 * MiB
	path, _ := e.file(t, "growing.mov", size, 1)
	key := "alice/laptop/pictures/growing.mov"
	final := bytes.Repeat([]byte("final content "), 3<<20)[:size]
	var once atomic.Bool
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key, Progress: func(int64) {
		if once.CompareAndSwap(false, true) {
			time.Sleep(10 * time.Millisecond) // let the mtime tick
			if err := os.WriteFile(path, final, 0o644); err != nil {
				t.Error(err)
			}
		}
	}}
	up := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 40 * MiB})
	e.proxy.Reset()
	res, err := up.Upload(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	// Sent counts the discarded try too: what went out, give or take the
	// requests' headers.
	if wire := e.proxy.Sent(); res.Sent <= size || res.Sent > wire || wire-res.Sent > MiB {
		t.Errorf("result sent_bytes: got %d, want the %d bytes that went out (less headers), more than the file's %d", res.Sent, wire, size)
	}
	want := sha256.Sum256(final)
	e.assertObject(t, key, hex.EncodeToString(want[:]), size)
	if res.SHA256 != hex.EncodeToString(want[:]) {
		t.Errorf("result sha256: got %s, want the final content's", res.SHA256)
	}
	e.assertNoIncomplete(t)
}

func TestUploader_PermanentErrors(t *testing.T) {
	e := newEnv(t)
	path, _ := e.file(t, "a.jpg", 100, 1)
	b := storage.Backoff{Attempts: 5, Base: time.Second, Cap: time.Second}
	st := storage.WithRetry(storage.NewDirect(e.client, "no-such-bucket"), b, zerolog.Nop(), nil)
	up := uploader.New(st, e.journal, uploader.Config{PartSize: 5 * MiB, Threshold: 5 * MiB}, zerolog.Nop())
	start := time.Now()
	_, err := up.Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: "a.jpg"})
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.Code != "NoSuchBucket" {
		t.Errorf("got error %v, want NoSuchBucket", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("a permanent error was retried: took %s", d)
	}
	_, err = up.Upload(context.Background(), uploader.Job{Path: filepath.Join(e.dir, "missing.jpg"), Key: "m.jpg"})
	if !errors.Is(err, os.ErrNotExist) || !uploader.IsPermanent(err) {
		t.Errorf("missing file: got %v, want a permanent not-exist error", err)
	}
}

func TestPartSizeFor(t *testing.T) {
	for _, tc := range []struct{ size, want, got int64 }{
		{100 * MiB, 16 * MiB, 16 * MiB},
		{100 * MiB, 1 * MiB, 5 * MiB},
		{160000 * MiB, 16 * MiB, 16 * MiB},
		{200000 * MiB, 16 * MiB, 20 * MiB},
		{5 << 40, 16 * MiB, 525 * MiB},
	} {
		got := uploader.PartSizeFor(tc.size, tc.want)
		if got != tc.got || (tc.size+got-1)/got > 10000 {
			t.Errorf("PartSizeFor(%d, %d) = %d, want %d", tc.size, tc.want, got, tc.got)
		}
	}
}

// An earlier version completed an upload before writing its sha256: a
// crash between the two left an object with the full-object CRC32C only.
// The next run adopts it as it is: nothing sent, nothing rewritten.
func TestUploader_AdoptsObjectCompletedBeforeCrash(t *testing.T) {
	e := newEnv(t)
	path, sum := e.file(t, "clip.mp4", 12*MiB, 9)
	key := "alice/laptop/pictures/clip.mp4"
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key}
	up := e.uploader(uploader.Config{})
	if _, err := up.Upload(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dst := minio.CopyDestOptions{Bucket: e.srv.Bucket, Object: key, ReplaceMetadata: true,
		UserMetadata: map[string]string{wire.MetaDevice: "laptop"}}
	if _, err := e.srv.Client.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: e.srv.Bucket, Object: key}); err != nil {
		t.Fatal(err)
	}
	info, err := e.srv.Client.StatObject(ctx, e.srv.Bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil || info.UserMetadata[wire.MetaSHA256] != "" || info.ChecksumCRC32C == "" {
		t.Fatalf("set-up: want an object without sha256 but with a CRC32C, got %+v %v", info.UserMetadata, err)
	}
	e.proxy.Reset()
	res, err := up.Upload(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped || res.SHA256 != sum || e.proxy.Sent() > 64<<10 {
		t.Errorf("got skipped %v, sha256 %s after sending %d bytes, want the object adopted without sending it, with %s",
			res.Skipped, res.SHA256, e.proxy.Sent(), sum)
	}
	after, err := e.srv.Client.StatObject(ctx, e.srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil || after.ETag != info.ETag || !after.LastModified.Equal(info.LastModified) {
		t.Errorf("object rewritten: %+v %v, want it left as it was (%s, %s)", after, err, info.ETag, info.LastModified)
	}
}
