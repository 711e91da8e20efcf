package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// These tests run the agent with settle at its default (2 s), on a bucket
// with versioning on, so that every upload of a file shows as a version.

// openWriter is a program writing a file in the watched folder: it keeps
// the file open between its writes, until close.
type openWriter struct {
	t    *testing.T
	f    *os.File
	h    hash.Hash
	rng  *rand.ChaCha8
	size int64
}

func (w *world) openWriter(rel string, header []byte, seed byte) *openWriter {
	w.t.Helper()
	f, err := os.Create(filepath.Join(w.photos, rel))
	if err != nil {
		w.t.Fatal(err)
	}
	ow := &openWriter{t: w.t, f: f, h: sha256.New(), rng: rand.NewChaCha8([32]byte{seed})}
	w.t.Cleanup(func() { f.Close() })
	ow.write(header)
	return ow
}

func (ow *openWriter) write(b []byte) {
	ow.t.Helper()
	if _, err := io.MultiWriter(ow.f, ow.h).Write(b); err != nil {
		ow.t.Fatal(err)
	}
	ow.size += int64(len(b))
}

// append writes n more pseudo-random bytes.
func (ow *openWriter) append(n int) {
	b := make([]byte, n)
	ow.rng.Read(b)
	ow.write(b)
}

// sum is the hex SHA-256 of what was written so far.
func (ow *openWriter) sum() string { return hex.EncodeToString(ow.h.Sum(nil)) }

func (ow *openWriter) close() {
	ow.t.Helper()
	if err := ow.f.Close(); err != nil {
		ow.t.Fatal(err)
	}
}

// versionSums returns the sha256 metadata of each version of key, oldest
// first.
func (w *world) versionSums(key string) []string {
	w.t.Helper()
	ctx := context.Background()
	var sums []string
	for o := range w.srv.Client.ListObjects(ctx, w.srv.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		info, err := w.srv.Client.StatObject(ctx, w.srv.Bucket, o.Key, minio.StatObjectOptions{VersionID: o.VersionID})
		if err != nil {
			w.t.Fatal(err)
		}
		sums = append(sums, info.UserMetadata["Sha256"])
	}
	slices.Reverse(sums) // listed newest first
	return sums
}

func (w *world) versioned() {
	w.t.Helper()
	if err := w.srv.Client.EnableVersioning(context.Background(), w.srv.Bucket); err != nil {
		w.t.Fatal(err)
	}
}

// holdIdle keeps ow open without writing for d, and fails the test if key
// is listed meanwhile: nothing may be uploaded while a writer holds the
// file.
func (w *world) holdIdle(key string, d time.Duration) {
	w.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, ok := w.sizes()[key]; ok {
			w.t.Fatalf("%s was uploaded while its writer held it open", key)
		}
	}
}

// storedOnce waits for what ow wrote to be stored under key, gives a
// second upload the time to happen, stops the agent and checks there was
// none (assertOnce).
func (w *world) storedOnce(r *running, ow *openWriter, key, rel string) {
	w.t.Helper()
	w.eventually(30*time.Second, key+" is stored", func() bool { return w.objects()[key] == ow.sum() })
	time.Sleep(3 * time.Second) // a second upload would be done by now
	r.stop()
	w.assertOnce(key, rel, ow.sum())
}

// assertOnce checks that key holds one version, of the content whose
// SHA-256 is sum, sent in one attempt.
func (w *world) assertOnce(key, rel, sum string) {
	w.t.Helper()
	if got := w.versionSums(key); len(got) != 1 || got[0] != sum {
		w.t.Errorf("versions of %s: sha256 %v, want one: [%s]", key, got, sum)
	}
	if got := w.contentSHA256(key); got != sum {
		w.t.Errorf("stored bytes: sha256 %s, want %s", got, sum)
	}
	if n := w.journalCount(`SELECT attempts FROM files WHERE path = '` + rel + `'`); n != 1 {
		w.t.Errorf("journal: %d attempts, want 1", n)
	}
}

// A video written in bursts, by a writer that keeps it open and pauses
// longer than the lease's quiet time but shorter than settle, is uploaded
// once, complete.
func TestSettle_GrowingFileOnce(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	r := w.startAgent()
	const rel, key = "VID_grow.mp4", "alice/laptop/pictures/VID_grow.mp4"
	ow := w.openWriter(rel, mp4Header, 1)
	for range 8 { // 8 bursts of 256 KiB, 600 ms apart
		ow.append(256 << 10)
		time.Sleep(600 * time.Millisecond)
	}
	if _, ok := w.sizes()[key]; ok {
		t.Fatal("the video was uploaded while its writer held it open")
	}
	ow.close()
	w.storedOnce(r, ow, key, rel)
}

// A writer that opens a photo, writes half of it, keeps it open without
// writing for 5 s (longer than settle), then writes the rest and closes
// it: the agent uploads the final content once, after the close.
func TestSettle_IdleWriterOnce(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	r := w.startAgent()
	const rel, key = "IMG_idle.jpg", "alice/laptop/pictures/IMG_idle.jpg"
	ow := w.openWriter(rel, jpegHeader(t), 2)
	ow.append(512 << 10)
	w.holdIdle(key, 5*time.Second)
	ow.append(512 << 10)
	ow.close()
	w.storedOnce(r, ow, key, rel)
}

// With settle_lease: false the agent goes by the settle period alone, as
// on systems without leases: a writer idle for longer than settle gets its
// half-written photo uploaded, then the final one. That is what a user who
// turns the lease off sees, and it shows the key took effect (with the
// lease the half never leaves, TestSettle_IdleWriterOnce); the last version
// is the final content all the same.
func TestSettle_LeaseOffUploadsByTheSettle(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.top = "settle_lease: false\n"
	w.writeConfig("")
	w.versioned()
	r := w.startAgent()
	const rel, key = "IMG_idle.jpg", "alice/laptop/pictures/IMG_idle.jpg"
	ow := w.openWriter(rel, jpegHeader(t), 3)
	ow.append(512 << 10)
	half := ow.sum()
	w.eventually(30*time.Second, "the half-written photo is stored while its writer holds it open", func() bool {
		return w.objects()[key] == half
	})
	ow.append(512 << 10)
	ow.close()
	w.eventually(30*time.Second, "the final photo is stored", func() bool { return w.objects()[key] == ow.sum() })
	r.stop()
	if got, want := w.versionSums(key), []string{half, ow.sum()}; !slices.Equal(got, want) {
		t.Errorf("versions of %s: sha256 %v, want the half then the final %v", key, got, want)
	}
	if got := w.contentSHA256(key); got != ow.sum() {
		t.Errorf("stored bytes: sha256 %s, want the final %s", got, ow.sum())
	}
}

// An agent that cannot lease the file (it runs as another user than the
// file's owner, without CAP_LEASE) says so in its log and falls back to the
// settle period for that folder: with settle longer than the writer's idle
// time, the final content is uploaded once.
func TestSettle_NotOwnerFallsBackToSettle(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the agent as another user than the files' owner")
	}
	w := newWorld(t)
	w.asUser = &userIDs{uid: 65534, gid: 65534}
	w.top = "settle: 8s\n"
	w.writeConfig("")
	w.versioned()
	r := w.startAgent()
	// A first photo, complete, shows the lease refused at once.
	w.file("IMG_first.jpg", jpegHeader(t), 1000, 4)
	w.eventually(30*time.Second, "the agent logs that it cannot lease", func() bool {
		return strings.Contains(r.logs.String(), "cannot take a read lease")
	})
	const rel, key = "IMG_idle.jpg", "alice/laptop/pictures/IMG_idle.jpg"
	ow := w.openWriter(rel, jpegHeader(t), 5)
	ow.append(512 << 10)
	w.holdIdle(key, 5*time.Second)
	ow.append(512 << 10)
	ow.close()
	w.eventually(30*time.Second, "the photo is stored", func() bool { return w.objects()[key] == ow.sum() })
	r.stop()
	w.assertOnce(key, rel, ow.sum())
	if n := strings.Count(r.logs.String(), "cannot take a read lease"); n != 1 {
		t.Errorf("logged %d times that the lease is refused, want once for the folder", n)
	}
}
