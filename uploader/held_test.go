package uploader_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// lingering is a storage whose requests fail at once while, as an HTTP
// transport may, something goes on reading their bodies after they
// returned; after the upload has returned, it reads once more and reports
// how many bytes it got.
type lingering struct {
	storage.Storage
	bodies chan io.Reader
}

var errRefused = errors.New("refused before the body was read")

func (l *lingering) linger(body io.Reader) {
	b := make([]byte, 1024)
	body.Read(b)
	l.bodies <- body
}

func (l *lingering) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta storage.Meta) (storage.Object, error) {
	l.linger(body)
	return storage.Object{}, errRefused
}

func (l *lingering) PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (storage.Part, error) {
	l.linger(body)
	return storage.Part{}, errRefused
}

// A body read after its request returned yields nothing: its buffer goes
// back to a pool for the next file, and a late read would send another
// file's bytes (or race with the read that fills it).
func TestUploader_BodyNotReadAfterItsRequest(t *testing.T) {
	e := newEnv(t)
	for _, size := range []int64{100 << 10, 12 * MiB} {
		path, _ := e.file(t, "late.jpg", size, 9)
		l := &lingering{Storage: storage.NewDirect(e.client, e.srv.Bucket), bodies: make(chan io.Reader, 8)}
		up := uploader.New(l, e.journal, uploader.Config{Device: "laptop", PartSize: 5 * MiB, Threshold: 5 * MiB, PartsInFlight: 1}, zerolog.Nop())
		_, err := up.Upload(context.Background(), uploader.Job{FileID: e.track(t, path), Path: path, Key: "alice/laptop/late.jpg"})
		if !errors.Is(err, errRefused) {
			t.Fatalf("size %d: upload: %v, want the refusal", size, err)
		}
		close(l.bodies)
		for body := range l.bodies {
			if n, _ := body.Read(make([]byte, 1024)); n != 0 {
				t.Errorf("size %d: a body read after its request returned gave %d bytes, want 0", size, n)
			}
		}
	}
}
