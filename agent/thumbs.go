package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media/capture"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/thumb"
)

const (
	// thumbQueue bounds the photos waiting for their thumbnail: an offer
	// beyond it is dropped, and the upload never waits.
	thumbQueue = 4096
	// thumbTimeout bounds the storage calls of one thumbnail: a storage
	// that does not answer must not hold the queue for long.
	thumbTimeout = time.Minute
	// thumbCached is how many of the last thumbnails made the status page
	// keeps in state_dir/thumbs.
	thumbCached = 50
	// thumbWarned bounds the contents whose failure was logged.
	thumbWarned = 10000
)

// thumbWorkers is how many thumbnails a one-shot backup makes at once:
// one per core, up to 4 (each holds a decoded photo, ~20 MB for 12
// megapixels).
func thumbWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

// ThumbsFolder is the folder under the account's prefix (KeyTemplate's
// UserPrefix) that holds the thumbnails: <sha256 of the photo>.jpg.
const ThumbsFolder = ".thumbs/"

// thumbnailer makes the thumbnail of each photo stored, once per content,
// in one goroutine beside the uploads: an offer never blocks, and a photo
// whose thumbnail cannot be made is backed up all the same.
type thumbnailer struct {
	st      storage.Storage
	journal *journal.Journal
	keys    KeyTemplate
	cache   string // the status page's copies; "" for none
	log     zerolog.Logger
	queue   chan thumbJob

	made, failed prometheus.Counter

	mu     sync.Mutex
	warned map[string]bool // contents whose failure was logged
	busy   map[string]bool // contents whose thumbnail is being made
	shown  []shownThumb    // in the cache, oldest first
}

// thumbJob is a stored photo waiting for its thumbnail.
type thumbJob struct {
	id     int64 // the journal's file ID, as the status page knows it
	path   string
	sha256 string
	mtime  time.Time
}

// shownThumb is a thumbnail in the cache, for one file of the status page.
type shownThumb struct {
	id     int64
	sha256 string
}

// newThumbnailer returns a thumbnailer that stores into st; cache, when
// not "", is the folder of the status page's copies, emptied now.
func newThumbnailer(st storage.Storage, j *journal.Journal, keys KeyTemplate, cache string, log zerolog.Logger) *thumbnailer {
	t := &thumbnailer{st: st, journal: j, keys: keys, cache: cache,
		log: log.With().Str("component", "thumbnails").Logger(), queue: make(chan thumbJob, thumbQueue),
		made:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_thumbnails_made_total", Help: "Thumbnails of photos made and stored."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_thumbnail_failures_total", Help: "Photos whose thumbnail could not be made or stored."}),
		warned: map[string]bool{}, busy: map[string]bool{},
	}
	if cache != "" {
		os.RemoveAll(cache) // the status page starts empty: so does its cache
		if err := os.MkdirAll(cache, 0o700); err != nil {
			t.log.Warn().Err(err).Msg("the status page shows no thumbnails")
			t.cache = ""
		}
	}
	return t
}

// register adds the thumbnail counters to reg. A nil thumbnailer adds
// nothing.
func (t *thumbnailer) register(reg *prometheus.Registry) {
	if t != nil {
		reg.MustRegister(t.made, t.failed)
	}
}

// offer asks for the thumbnail of the file id at path, stored with
// content sha256, when it is a photo. It never blocks: with the queue
// full the offer is dropped. A nil thumbnailer takes nothing.
func (t *thumbnailer) offer(id int64, path, sha256 string, mtime time.Time) {
	if t == nil || sha256 == "" || !thumb.Supports(path) {
		return
	}
	select {
	case t.queue <- thumbJob{id: id, path: path, sha256: sha256, mtime: mtime}:
	default:
		t.log.Debug().Str("path", path).Msg("thumbnail queue full: no thumbnail for now")
	}
}

// run makes the thumbnails offered until ctx ends, or until finish was
// called and the queue is empty; at the end of ctx, the thumbnail under
// way stops at its next storage call. The agent runs one (thumbnails wait
// while the uploads go on); a one-shot backup, which waits for them at
// its end, runs one per core. A nil thumbnailer returns at once.
func (t *thumbnailer) run(ctx context.Context) {
	if t == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case j, ok := <-t.queue:
			if !ok {
				return
			}
			t.thumbnail(ctx, j)
		}
	}
}

// finish lets run return once the queue is empty: the end of a one-shot
// backup. No offer may come after it. A nil thumbnailer has nothing to
// finish.
func (t *thumbnailer) finish() {
	if t != nil {
		close(t.queue)
	}
}

// thumbnail stores the thumbnail of j unless the journal or the storage
// already has it, or another run makes it now.
func (t *thumbnailer) thumbnail(parent context.Context, j thumbJob) {
	if !t.keys.Ready() {
		return // signed out: no account to store it in
	}
	if !t.claim(j.sha256) {
		return
	}
	defer t.release(j.sha256)
	ctx, cancel := context.WithTimeout(parent, thumbTimeout)
	defer cancel()
	key := t.keys.UserPrefix() + ThumbsFolder + j.sha256 + ".jpg"
	if k, err := t.journal.Thumb(ctx, j.sha256); err == nil && k == key {
		t.show(ctx, j, key, nil)
		return
	}
	if _, err := t.st.Stat(ctx, key); err == nil { // made before a journal was lost, or by another device
		t.record(ctx, j, key, nil)
		return
	}
	orientation := 0
	if info, err := capture.Read(j.path, j.mtime); err == nil {
		orientation = info.Orientation
	}
	start := time.Now()
	b, err := thumb.Make(j.path, orientation)
	switch {
	case errors.Is(err, thumb.ErrUnsupported):
		t.log.Debug().Str("path", j.path).Err(err).Msg("no thumbnail")
		return
	case err != nil:
		t.fail(j, err)
		return
	}
	sum := sha256.Sum256(b)
	meta := storage.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: time.Now(), Device: t.keys.Device, ContentType: "image/jpeg"}
	if _, err := t.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), crc32cOf(b), meta); err != nil {
		if parent.Err() == nil {
			t.fail(j, errors.New(storage.Short(err)))
		}
		return
	}
	t.made.Inc()
	t.log.Debug().Str("path", j.path).Str("key", key).Int("size_bytes", len(b)).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("thumbnail stored")
	t.record(ctx, j, key, b)
}

// claim reports whether the thumbnail of the content sha256 is for the
// caller to make: no other run is making it.
func (t *thumbnailer) claim(sha256 string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy[sha256] {
		return false
	}
	t.busy[sha256] = true
	return true
}

func (t *thumbnailer) release(sha256 string) {
	t.mu.Lock()
	delete(t.busy, sha256)
	t.mu.Unlock()
}

// record journals the thumbnail of j as stored under key and shows it.
func (t *thumbnailer) record(ctx context.Context, j thumbJob, key string, b []byte) {
	if err := t.journal.AddThumb(ctx, j.sha256, key); err != nil && ctx.Err() == nil {
		t.log.Debug().Err(err).Msg("thumbnail not journaled: the storage is asked next time")
	}
	t.show(ctx, j, key, b)
}

// fail counts a thumbnail that could not be made and logs it, once per
// content.
func (t *thumbnailer) fail(j thumbJob, err error) {
	t.failed.Inc()
	t.mu.Lock()
	seen := t.warned[j.sha256]
	if !seen {
		if len(t.warned) >= thumbWarned {
			clear(t.warned)
		}
		t.warned[j.sha256] = true
	}
	t.mu.Unlock()
	if !seen {
		t.log.Warn().Str("path", j.path).Err(err).Msg("no thumbnail for this photo; the photo itself is backed up")
	}
}

// show puts the thumbnail of j (b, or else read from key) in the status
// page's cache, and forgets the oldest beyond thumbCached.
func (t *thumbnailer) show(ctx context.Context, j thumbJob, key string, b []byte) {
	if t.cache == "" {
		return
	}
	file := filepath.Join(t.cache, j.sha256+".jpg")
	if _, err := os.Stat(file); err != nil {
		if b == nil {
			if b, err = t.fetch(ctx, key); err != nil {
				return
			}
		}
		if err := atomicfile.WriteFile(file, b, 0o600); err != nil {
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shown = append(t.shown, shownThumb{j.id, j.sha256})
	for len(t.shown) > thumbCached {
		old := t.shown[0]
		t.shown = t.shown[1:]
		if !t.showing(old.sha256) {
			os.Remove(filepath.Join(t.cache, old.sha256+".jpg"))
		}
	}
}

// showing reports whether the cache still shows content sha256; t.mu is
// held.
func (t *thumbnailer) showing(sha256 string) bool {
	for _, s := range t.shown {
		if s.sha256 == sha256 {
			return true
		}
	}
	return false
}

// fetch reads a stored thumbnail (at most 1 MiB).
func (t *thumbnailer) fetch(ctx context.Context, key string) ([]byte, error) {
	r, err := t.st.Get(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 1<<20))
}

// cached returns the file of the thumbnail of the file id in the cache,
// or "" when there is none. A nil thumbnailer has none.
func (t *thumbnailer) cached(id int64) string {
	if t == nil || t.cache == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.shown) - 1; i >= 0; i-- {
		if s := t.shown[i]; s.id == id && !strings.ContainsAny(s.sha256, `/\.`) {
			return filepath.Join(t.cache, s.sha256+".jpg")
		}
	}
	return ""
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cOf is the base64 CRC32C of b, as storage.Put takes it.
func crc32cOf(b []byte) string {
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc32.Checksum(b, castagnoli))
	return base64.StdEncoding.EncodeToString(c[:])
}
