package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// countingStore counts the Puts that reach the storage, which may be set
// after the agent started (set).
type countingStore struct {
	storage.Storage // only for the methods the thumbnailer does not call
	mu              sync.Mutex
	st              storage.Storage
	puts            atomic.Int32
}

func (c *countingStore) set(st storage.Storage) {
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
}

func (c *countingStore) get() storage.Storage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *countingStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta storage.Meta) (storage.Object, error) {
	c.puts.Add(1)
	return c.get().Put(ctx, key, body, size, crc32c, meta)
}

func (c *countingStore) Stat(ctx context.Context, key string) (storage.Object, error) {
	return c.get().Stat(ctx, key)
}

func (c *countingStore) Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	return c.get().Get(ctx, key, offset)
}

// lockedBuffer is a log the worker goroutine writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// thumbRig is a thumbnailer storing into a real MinIO, its worker running
// until the test ends.
type thumbRig struct {
	t     *thumbnailer
	srv   *miniotest.Server
	store *countingStore
	log   *lockedBuffer
	dir   string
}

func newThumbRig(t *testing.T, srv *miniotest.Server, store *countingStore, j *journal.Journal) *thumbRig {
	t.Helper()
	if store == nil {
		store = &countingStore{st: storage.NewDirect(srv.Client, srv.Bucket)}
	}
	r := &thumbRig{srv: srv, store: store, log: &lockedBuffer{}, dir: t.TempDir()}
	keys := KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"}
	r.t = newThumbnailer(r.store, j, keys, nil, filepath.Join(r.dir, "thumbs"), zerolog.New(r.log))
	r.t.follow(newQueue(5<<20, 1), nil) // as the agent's, with no upload ever queued
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.t.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// photo writes b as name in the rig's folder and returns the job of its
// thumbnail, as the sender offers it once the photo is stored.
func (r *thumbRig) photo(t *testing.T, id int64, name string, b []byte) thumbJob {
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return thumbJob{id: id, path: p, sha256: hex.EncodeToString(sum[:]), identity: journal.IdentityOf(fi)}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// waitFor polls cond every 20 ms for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A photo's thumbnail is stored once per content under the account's
// .thumbs/ folder, turned as its EXIF orientation says; after a lost
// journal (the original found stored) the storage is asked before a
// second Put.
func TestThumbnailer_OncePerContent(t *testing.T) {
	srv := miniotest.Start(t)
	r := newThumbRig(t, srv, nil, openJournal(t))
	j := r.photo(t, 1, "IMG_0001.jpg", mediatest.JPEG(t, 1200, 800, mediatest.EXIF{Orientation: 6}))
	copyJob := r.photo(t, 2, "IMG_0001 copy.jpg", mediatest.JPEG(t, 1200, 800, mediatest.EXIF{Orientation: 6}))
	key := "alice/.thumbs/" + j.sha256 + ".jpg"

	r.t.offer(j)
	waitFor(t, "the thumbnail to be made", func() bool { return counterValue(r.t.made) == 1 })
	obj, err := srv.Client.GetObject(context.Background(), srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := obj.Stat()
	if err != nil {
		t.Fatalf("%s not stored: %v", key, err)
	}
	if info.ContentType != "image/jpeg" {
		t.Errorf("content type %q, want image/jpeg", info.ContentType)
	}
	img, err := jpeg.Decode(obj)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(213, 320) {
		t.Errorf("thumbnail %v, want 213×320 (a quarter turn of 320×213)", got)
	}
	if red, _, _, _ := img.At(160, 80).RGBA(); red>>8 < 200 {
		t.Errorf("the top-right quadrant is not red: the orientation was not applied")
	}

	r.t.offer(copyJob) // a copy: the journal knows its content
	lost := newThumbRig(t, srv, r.store, openJournal(t))
	j.found = true
	lost.t.offer(j) // a new journal, the original found stored: the storage tells
	waitFor(t, "the journals to record it", func() bool {
		k1, _ := r.t.journal.Thumb(context.Background(), j.sha256)
		k2, _ := lost.t.journal.Thumb(context.Background(), j.sha256)
		return k1.Key == key && k2.Key == key && r.t.cached(2) != ""
	})
	if n := r.store.puts.Load(); n != 1 {
		t.Errorf("%d thumbnails stored, want 1", n)
	}
}

// A corrupt photo gets no thumbnail and one warning, however often it is
// offered: the journal records the failure; a video or a sidecar is not
// even queued.
func TestThumbnailer_Failures(t *testing.T) {
	srv := miniotest.Start(t)
	r := newThumbRig(t, srv, nil, openJournal(t))
	jpg := mediatest.JPEG(t, 640, 480, mediatest.EXIF{})
	broken := r.photo(t, 1, "broken.jpg", jpg[:len(jpg)/3])
	good := r.photo(t, 2, "good.jpg", jpg)
	r.t.offer(broken)
	r.t.offer(broken)
	r.t.offer(good) // made after both: the worker takes offers in order
	waitFor(t, "the good photo's thumbnail", func() bool { return counterValue(r.t.made) == 1 })
	if n := counterValue(r.t.failed); n != 1 {
		t.Errorf("%v failures counted, want 1", n)
	}
	if n := strings.Count(r.log.String(), `"level":"warn"`); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, r.log)
	}
	if !strings.Contains(r.log.String(), broken.path) || !strings.Contains(r.log.String(), "invalid JPEG format") {
		t.Errorf("the warning does not name the file and the error:\n%s", r.log)
	}
	if th, err := r.t.journal.Thumb(context.Background(), broken.sha256); err != nil || th.Key != "" || !strings.Contains(th.Error, broken.path) {
		t.Errorf("journal: %+v %v, want the failure recorded", th, err)
	}
	for _, name := range []string{"clip.mp4", "photo.jpg.xmp", "song.mp3"} {
		r.t.offer(thumbJob{id: 3, path: filepath.Join(r.dir, name), sha256: good.sha256})
		r.t.mu.Lock()
		n := len(r.t.hints)
		r.t.mu.Unlock()
		if n != 0 {
			t.Errorf("%s was queued", name)
		}
	}
	if n := r.store.puts.Load(); n != 1 {
		t.Errorf("%d thumbnails stored, want 1", n)
	}
}

// Offers never wait: beyond thumbHints they are dropped, and the journal
// is read again instead.
func TestThumbnailer_OfferNeverBlocks(t *testing.T) {
	tn := newThumbnailer(nil, nil, KeyTemplate{}, nil, "", zerolog.Nop())
	tn.follow(newQueue(5<<20, 1), nil)
	tn.rescan.Store(false)
	done := make(chan struct{})
	go func() {
		for i := range thumbHints + 10 {
			tn.offer(thumbJob{id: int64(i), path: "a.jpg", sha256: "00"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("offer blocked on a full queue")
	}
	if len(tn.hints) != thumbHints || !tn.rescan.Load() {
		t.Errorf("%d offers kept, journal to be read %v: want %d and true", len(tn.hints), tn.rescan.Load(), thumbHints)
	}
	var nilT *thumbnailer
	nilT.offer(thumbJob{id: 1, path: "a.jpg", sha256: "00"}) // thumbnails off
	nilT.follow(newQueue(5<<20, 1), nil)
	nilT.run(context.Background())
}

// The status page's cache keeps the last thumbCached thumbnails.
func TestThumbnailer_CachePruned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "thumbs")
	tn := newThumbnailer(nil, nil, KeyTemplate{}, nil, dir, zerolog.Nop())
	for i := range thumbCached + 10 {
		tn.show(context.Background(), thumbJob{id: int64(i), sha256: fmt.Sprintf("%064x", i)}, "", []byte("jpeg"))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != thumbCached {
		t.Errorf("%d files in the cache, want %d", len(entries), thumbCached)
	}
	if tn.cached(0) != "" || tn.cached(thumbCached+9) == "" {
		t.Errorf("the cache kept the oldest or lost the newest")
	}
}

// The status page shows a stored photo's thumbnail, served from the
// agent's cache, private, under the page's strict content policy.
func TestAgent_StatusPageThumbnails(t *testing.T) {
	port := miniotest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	stateDir := t.TempDir()
	var thumbs *countingStore
	_, srv, photos := startAgent(t, func(a *Agent) {
		a.MetricsListen = fmt.Sprintf("127.0.0.1:%d", port)
		a.StateDir = stateDir
		thumbs = &countingStore{}
		a.Thumbs = thumbs
	})
	thumbs.set(storage.NewDirect(srv.Client, srv.Bucket))
	mediatest.Write(t, filepath.Join(photos, "IMG_0001.jpg"), mediatest.JPEG(t, 800, 600, mediatest.EXIF{Orientation: 8}), time.Time{})
	waitFor(t, "a thumbnail on the status page", func() bool { return strings.Contains(get(t, url+"/"), `<img src="/thumb/`) })
	page := get(t, url+"/")
	id := page[strings.Index(page, `/thumb/`)+7:]
	id = id[:strings.IndexByte(id, '"')]
	resp, err := http.Get(url + "/thumb/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	img, err := jpeg.Decode(resp.Body)
	if err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(240, 320) {
		t.Errorf("thumbnail %v, want 240×320", got)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
		t.Errorf("Cache-Control %q, want private", cc)
	}
	files, _ := filepath.Glob(filepath.Join(stateDir, "thumbs", "*.jpg"))
	if len(files) != 1 {
		t.Errorf("cache holds %v, want one thumbnail", files)
	}
	if resp, err := http.Get(url + "/thumb/999"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown file's thumbnail: %v %v, want 404", resp.Status, err)
	}
}

// timedStore delays each Put by delay and notes when each began and
// ended.
type timedStore struct {
	storage.Storage
	delay time.Duration

	mu           sync.Mutex
	began, ended []time.Time
}

func (s *timedStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta storage.Meta) (storage.Object, error) {
	s.mu.Lock()
	s.began = append(s.began, time.Now())
	s.mu.Unlock()
	time.Sleep(s.delay)
	obj, err := s.Storage.Put(ctx, key, body, size, crc32c, meta)
	s.mu.Lock()
	s.ended = append(s.ended, time.Now())
	s.mu.Unlock()
	return obj, err
}

// times returns when the Puts began and ended, in order.
func (s *timedStore) times() (began, ended []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.began), slices.Clone(s.ended)
}

// The agent makes no thumbnail while uploads are queued or in flight:
// with a slow storage and photos waiting, the first thumbnail is sent
// after the last original was stored; then every one is made.
func TestAgent_ThumbnailsWaitForUploads(t *testing.T) {
	const n = 8
	originals, thumbs := &timedStore{delay: 150 * time.Millisecond}, &timedStore{}
	startAgent(t, func(a *Agent) {
		srv := miniotest.Start(t)
		originals.Storage = storage.NewDirect(srv.Client, srv.Bucket)
		thumbs.Storage = storage.NewDirect(srv.Client, srv.Bucket)
		a.Uploader = uploader.New(originals, a.Journal, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 4}, zerolog.Nop())
		a.Thumbs = thumbs
		for i := range n {
			jpg := mediatest.JPEG(t, 640+8*i, 480, mediatest.EXIF{})
			mediatest.Write(t, filepath.Join(a.Roots[0].Path, fmt.Sprintf("IMG_%04d.jpg", i)), jpg, time.Now().Add(-time.Hour))
		}
	})
	waitFor(t, "every thumbnail", func() bool { b, _ := thumbs.times(); return len(b) == n })
	_, stored := originals.times()
	began, _ := thumbs.times()
	if len(stored) != n {
		t.Fatalf("%d originals stored, want %d", len(stored), n)
	}
	if last := slices.MaxFunc(stored, time.Time.Compare); began[0].Before(last) {
		t.Errorf("a thumbnail was sent %s before the last original was stored", last.Sub(began[0]))
	}
}
