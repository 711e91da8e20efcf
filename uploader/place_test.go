package uploader_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

func TestSuffixed(t *testing.T) {
	sum := "1f2e3d4c5b6a79880000000000000000000000000000000000000000000000ff"
	for _, tc := range []struct {
		key  string
		n    int
		want string
	}{
		{"alice/2024/01/IMG_0001.JPG", 8, "alice/2024/01/IMG_0001~1f2e3d4c.JPG"},
		{"alice/2024/01/photo.jpg.xmp", 8, "alice/2024/01/photo.jpg~1f2e3d4c.xmp"},
		{"alice/2024/01/README", 16, "alice/2024/01/README~1f2e3d4c5b6a7988"},
		{"alice/.hidden", 8, "alice/.hidden~1f2e3d4c"},
		{"a.b/c", 8, "a.b/c~1f2e3d4c"},
	} {
		if got := uploader.Suffixed(tc.key, sum, tc.n); got != tc.want {
			t.Errorf("Suffixed(%q, %d) = %q, want %q", tc.key, tc.n, got, tc.want)
		}
	}
}

// claims is a Claim over a fixed answer per key, recording what was asked.
type claims struct {
	mu     sync.Mutex
	answer map[string]uploader.Hold
	asked  []string
}

func (c *claims) claim(_ context.Context, key, _ string) (uploader.Hold, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, key)
	return c.answer[key], nil
}

// With a Claim, a file never replaces an object of another content that is
// not its own: it goes to its key with a suffix of its hash. The same
// content is found stored; its own earlier content is replaced.
func TestUploader_Place(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	ctx := context.Background()
	for _, size := range []int64{1000, 12 * MiB} {
		key := "alice/2024/01/IMG_0001.JPG"
		first, firstSum := e.file(t, "first.jpg", size, 1)
		if _, err := up.Upload(ctx, uploader.Job{FileID: e.track(t, first), Path: first, Key: key}); err != nil {
			t.Fatal(err)
		}
		second, sum := e.file(t, "second.jpg", size, 2)
		id := e.track(t, second)

		// Free by the journal, but the bucket holds another content.
		c := &claims{answer: map[string]uploader.Hold{}}
		res, err := up.Upload(ctx, uploader.Job{FileID: id, Path: second, Key: key, Claim: c.claim, New: true})
		if err != nil {
			t.Fatal(err)
		}
		want := uploader.Suffixed(key, sum, 8)
		if res.Key != want || res.Skipped {
			t.Errorf("size %d: stored at %q (skipped %v), want %q", size, res.Key, res.Skipped, want)
		}
		e.assertObject(t, key, firstSum, size) // untouched
		e.assertObject(t, want, sum, size)

		// Again: found stored at the suffixed key, deterministically.
		res, err = up.Upload(ctx, uploader.Job{FileID: id, Path: second, Key: key, Claim: c.claim})
		if err != nil || res.Key != want || !res.Skipped {
			t.Errorf("size %d: again: got %q skipped %v err %v, want %q skipped", size, res.Key, res.Skipped, err, want)
		}

		// The same content as the object at the key: no suffix.
		res, err = up.Upload(ctx, uploader.Job{FileID: e.track(t, first), Path: first, Key: key, Claim: c.claim})
		if err != nil || res.Key != key || !res.Skipped {
			t.Errorf("size %d: same content: got %q skipped %v err %v, want %q skipped", size, res.Key, res.Skipped, err, key)
		}

		// Held by the journal (another file), though the bucket is empty there.
		c.answer["alice/other/x.jpg"] = uploader.Held
		res, err = up.Upload(ctx, uploader.Job{FileID: id, Path: second, Key: "alice/other/x.jpg", Claim: c.claim})
		if want := uploader.Suffixed("alice/other/x.jpg", sum, 8); err != nil || res.Key != want {
			t.Errorf("size %d: held: got %q err %v, want %q", size, res.Key, err, want)
		}

		// Its own earlier content: replaced in place.
		c.answer[key] = uploader.Own
		res, err = up.Upload(ctx, uploader.Job{FileID: id, Path: second, Key: key, Claim: c.claim})
		if err != nil || res.Key != key || res.Skipped {
			t.Errorf("size %d: own key: got %q skipped %v err %v, want %q sent", size, res.Key, res.Skipped, err, key)
		}
		e.assertObject(t, key, sum, size)
		for _, k := range []string{key, want, "alice/other/x.jpg", uploader.Suffixed("alice/other/x.jpg", sum, 8)} {
			if err := e.srv.Client.RemoveObject(ctx, e.srv.Bucket, k, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(first)
		os.Remove(second)
	}
	e.assertNoIncomplete(t)
}

// The object carries the job's capture time, its source, the group and
// the motion-photo mark, with the uploader's own fields.
func TestUploader_Meta(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	ctx := context.Background()
	taken := time.Date(2024, 1, 31, 14, 5, 0, 0, time.FixedZone("", 9*3600))
	for _, size := range []int64{1000, 12 * MiB} {
		path, sum := e.file(t, "MVIMG_1.jpg", size, 3)
		key := "alice/2024/01/MVIMG_1.jpg"
		meta := storage.Meta{Capture: taken, CaptureSource: wire.CaptureEXIF, Group: "0123456789abcdef", Motion: true}
		if _, err := up.Upload(ctx, uploader.Job{FileID: e.track(t, path), Path: path, Key: key, Meta: meta}); err != nil {
			t.Fatal(err)
		}
		e.assertObject(t, key, sum, size)
		info, err := e.srv.Client.StatObject(ctx, e.srv.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{
			wire.MetaCaptureTime: "2024-01-31T14:05:00+09:00", wire.MetaCaptureSource: "exif",
			wire.MetaGroup: "0123456789abcdef", wire.MetaMotion: "true",
		} {
			if got := info.UserMetadata[name]; got != want {
				t.Errorf("size %d: metadata %s = %q, want %q", size, name, got, want)
			}
		}
		if err := e.srv.Client.RemoveObject(ctx, e.srv.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// sneaky is a storage where another writer stores an object under key
// right after the uploader last asked about it (a Stat that answers "not
// found", then the other device's PUT): the uploader believes the key
// free when it writes.
type sneaky struct {
	storage.Storage
	key   string
	write func() // the other writer
	once  sync.Once
}

func (s *sneaky) Stat(ctx context.Context, key string) (storage.Object, error) {
	o, err := s.Storage.Stat(ctx, key)
	if key == s.key && errors.Is(err, storage.ErrNotFound) {
		s.once.Do(s.write)
	}
	return o, err
}

// Under keys other devices share (Job.Shared), a key found free is written
// only while it still is: when another device stored it meanwhile, its
// object stays, and the file goes to its suffixed key, or is found stored
// when the other device stored the same content. Single PUTs and
// multipart uploads alike; nothing is left incomplete.
func TestUploader_SharedKeyTaken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := storage.Backoff{Attempts: 3, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond}
	for _, size := range []int64{1000, 12 * MiB} {
		for _, sameContent := range []bool{false, true} {
			key := fmt.Sprintf("alice/2024/01/IMG_%d_%v.JPG", size, sameContent)
			mine, sum := e.file(t, "mine.jpg", size, 7)
			theirs, theirSum := e.file(t, "theirs.jpg", size, 8)
			if sameContent {
				theirs, theirSum = mine, sum
			}
			fi, err := os.Stat(theirs)
			if err != nil {
				t.Fatal(err)
			}
			meta := map[string]string{wire.MetaSHA256: theirSum, wire.MetaDevice: "laptop", wire.MetaMTime: fi.ModTime().UTC().Format(time.RFC3339Nano)}
			st := &sneaky{Storage: storage.NewDirect(e.client, e.srv.Bucket), key: key, write: func() {
				if _, err := e.srv.Client.FPutObject(ctx, e.srv.Bucket, key, theirs, minio.PutObjectOptions{UserMetadata: meta}); err != nil {
					t.Error(err)
				}
			}}
			up := uploader.New(storage.WithRetry(st, b, zerolog.Nop(), nil), e.journal,
				uploader.Config{Device: "laptop", PartSize: 5 * MiB, Threshold: 5 * MiB, PartsInFlight: 4}, zerolog.Nop())
			c := &claims{answer: map[string]uploader.Hold{}}
			res, err := up.Upload(ctx, uploader.Job{FileID: e.track(t, mine), Path: mine, Key: key, Claim: c.claim, New: true, Shared: true})
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			want := uploader.Suffixed(key, sum, 8)
			if sameContent {
				want = key
			}
			if res.Key != want || res.Skipped != sameContent {
				t.Errorf("size %d, same content %v: stored at %q (skipped %v), want %q", size, sameContent, res.Key, res.Skipped, want)
			}
			e.assertObject(t, key, theirSum, size) // the other device's object stays
			e.assertObject(t, want, sum, size)
			os.Remove(mine)
			os.Remove(theirs)
		}
	}
	e.assertNoIncomplete(t)
}

// Under keys devices share, a changed file whose object went behind this
// device's back, and whose key another device's file took since, does
// not replace that file: it goes to its suffixed key. While the object is
// still its own, it is replaced in place.
func TestUploader_SharedOwnKeyTakenByAnotherDevice(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{Device: "laptop"})
	ctx := context.Background()
	for _, size := range []int64{1000, 12 * MiB} {
		key := fmt.Sprintf("alice/2024/01/IMG_%d.JPG", size)
		mine, _ := e.file(t, "mine.jpg", size, 21)
		id := e.track(t, mine)
		own := &claims{answer: map[string]uploader.Hold{key: uploader.Own}}
		if _, err := up.Upload(ctx, uploader.Job{FileID: id, Path: mine, Key: key, Claim: own.claim, Shared: true}); err != nil {
			t.Fatal(err)
		}
		edited, editedSum := e.file(t, "mine.jpg", size, 22) // the photo edited in place
		res, err := up.Upload(ctx, uploader.Job{FileID: e.track(t, edited), Path: edited, Key: key, Claim: own.claim, Shared: true})
		if err != nil || res.Key != key {
			t.Fatalf("size %d: an edit of its own object went to %q (%v), want %q", size, res.Key, err, key)
		}
		e.assertObject(t, key, editedSum, size)

		theirs, theirSum := e.file(t, "theirs.jpg", size, 23)
		meta := map[string]string{wire.MetaSHA256: theirSum, wire.MetaDevice: "phone"}
		if _, err := e.srv.Client.FPutObject(ctx, e.srv.Bucket, key, theirs, minio.PutObjectOptions{UserMetadata: meta}); err != nil {
			t.Fatal(err)
		}
		again, againSum := e.file(t, "mine.jpg", size, 24)
		res, err = up.Upload(ctx, uploader.Job{FileID: e.track(t, again), Path: again, Key: key, Claim: own.claim, Shared: true})
		if want := uploader.Suffixed(key, againSum, 8); err != nil || res.Key != want {
			t.Fatalf("size %d: stored at %q (%v), want %q", size, res.Key, err, want)
		}
		if info, err := e.srv.Client.StatObject(ctx, e.srv.Bucket, key, minio.StatObjectOptions{}); err != nil || info.UserMetadata[wire.MetaSHA256] != theirSum || info.UserMetadata[wire.MetaDevice] != "phone" {
			t.Errorf("size %d: the phone's object: %v %v, want its own", size, info.UserMetadata, err)
		}
		e.assertObject(t, res.Key, againSum, size)
	}
	e.assertNoIncomplete(t)
}
