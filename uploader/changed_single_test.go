package uploader_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// With multipart_threshold above part_size, a file between the two is sent
// in one PUT read from disk. Rewritten while it is sent, it is refused
// (its bytes no longer match the CRC32C): the refusal is known at once as
// a changed file, not tried again until the backoff runs out, and the next
// try stores the final content. The storage retries as the agent's does
// (about two minutes), so a deadline of 30 s tells the two apart.
func TestUploader_FileFromDiskChangedDuringPut(t *testing.T) {
	e := newEnv(t)
	const size = 8 * MiB
	path, _ := e.file(t, "long.jpg", size, 21)
	key := "alice/laptop/pictures/long.jpg"
	final := bytes.Repeat([]byte("final "), size)[:size]
	var once sync.Once
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key, Progress: func(int64) {
		once.Do(func() { rewriteInPlace(t, path, final) })
	}}
	st := storage.WithRetry(storage.NewDirect(e.client, e.srv.Bucket), storage.DefaultBackoff, zerolog.Nop(), nil)
	up := uploader.New(st, e.journal, uploader.Config{
		Device: "laptop", PartSize: 5 * MiB, Threshold: 16 * MiB, PartsInFlight: 1, BandwidthLimit: 20 * MiB,
	}, zerolog.Nop())
	e.proxy.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := up.Upload(ctx, job)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	want := sha256.Sum256(final)
	e.assertObject(t, key, hex.EncodeToString(want[:]), size)
	if res.SHA256 != hex.EncodeToString(want[:]) {
		t.Errorf("result sha256: got %s, want the final content's", res.SHA256)
	}
	if puts := len(e.requests(http.MethodPut)); puts != 2 {
		t.Errorf("got %d PUT requests, want 2: the refused one and the final content", puts)
	}
}

// rewriteInPlace overwrites the file at path with b (its size) without
// truncating it, as an editor saving in place does, and moves its mtime.
func rewriteInPlace(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Error(err)
		return
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Error(err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Error(err)
	}
}
