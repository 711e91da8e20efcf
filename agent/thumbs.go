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
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media/capture"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/thumb"
)

const (
	// thumbHints bounds the photos just stored that the agent keeps in
	// memory for their thumbnail; beyond it an offer is dropped and the
	// journal is read again instead (it lists every photo still lacking
	// one).
	thumbHints = 4096
	// thumbTimeout bounds the storage calls of one thumbnail: a storage
	// that does not answer must not hold the thumbnails for long.
	thumbTimeout = time.Minute
	// thumbRetry is how long the agent's thumbnails wait after the
	// storage failed one.
	thumbRetry = time.Minute
	// thumbCached is how many of the last thumbnails made the status page
	// keeps in state_dir/thumbs.
	thumbCached = 50
	// thumbFoundMax bounds the contents remembered as found already
	// stored, whose thumbnail is looked for before one is made.
	thumbFoundMax = 100_000
	// thumbPage is how many journal rows one read of the catch-up takes.
	thumbPage = 256
)

// thumbWorkers is how many thumbnails a one-shot backup makes at once once
// its files are stored: one per core, up to 4 (each holds a decoded photo,
// ~20 MB for 12 megapixels).
func thumbWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

// ThumbsFolder is the folder under the account's prefix (KeyTemplate's
// UserPrefix) that holds the thumbnails: <sha256 of the photo>.jpg.
const ThumbsFolder = ".thumbs/"

// thumbnailer makes the thumbnail of each stored photo, once per content,
// as a catch-up fed from the journal: every stored photo whose content has
// no row in its thumbs table is waiting for one (photos stored before
// thumbnails were on, offers dropped, a stop in the middle). A photo no
// thumbnail can be made of gets a row too, with why, and is not tried
// again. Thumbnails never hold an upload: the agent makes them one at a
// time while no upload is queued or in flight (follow); a one-shot backup
// makes them after its uploads (catchUp).
type thumbnailer struct {
	st      storage.Storage
	journal *journal.Journal
	keys    KeyTemplate
	roots   map[string]string // root name → folder, for the journal's rows
	cache   string            // the status page's copies; "" for none
	log     zerolog.Logger
	wake    chan struct{}

	// Set by follow, for the agent.
	hinting bool            // offers are kept, to be made before the journal is read
	uploads *queue          // thumbnails wait while it is busy; nil: never
	start   <-chan struct{} // thumbnails begin once it is closed; nil: at once

	made, failed prometheus.Counter

	rescan atomic.Bool // read the journal from its start, once the read under way ends

	mu    sync.Mutex
	hints []thumbJob      // photos just stored, made first
	found map[string]bool // contents found already stored: their thumbnail may be too
	busy  map[string]bool // contents whose thumbnail is being made
	shown []shownThumb    // in the cache, oldest first

	scanMu   sync.Mutex
	scanning bool
	after    int64      // the last file ID read from the journal
	page     []thumbJob // read, not yet handed out
}

// thumbJob is a stored photo waiting for its thumbnail.
type thumbJob struct {
	id       int64 // the journal's file ID, as the status page knows it
	path     string
	sha256   string
	identity journal.Identity // the file as stored: a file changed since is left alone
	found    bool             // the storage held the original already (no upload)
}

// shownThumb is a thumbnail in the cache, for one file of the status page.
type shownThumb struct {
	id     int64
	sha256 string
}

// thumbResult is how one thumbnail job ended.
type thumbResult int

const (
	thumbKnown   thumbResult = iota // the journal has its content: made, failed, or being made
	thumbMade                       // made and stored now
	thumbFound                      // found stored already: journaled
	thumbFailed                     // the photo cannot be decoded: journaled, not tried again
	thumbNone                       // a kind no thumbnail is made of: journaled
	thumbSkipped                    // changed, moved or unreadable since it was stored: its next upload offers it again
	thumbStopped                    // the storage failed, or ctx ended: tried again later
)

// newThumbnailer returns a thumbnailer that stores into st the thumbnails
// of the photos of roots; cache, when not "", is the folder of the status
// page's copies, emptied now. Its first catch-up reads the whole journal.
func newThumbnailer(st storage.Storage, j *journal.Journal, keys KeyTemplate, roots []Root, cache string, log zerolog.Logger) *thumbnailer {
	t := &thumbnailer{st: st, journal: j, keys: keys, roots: map[string]string{}, cache: cache,
		log: log.With().Str("component", "thumbnails").Logger(), wake: make(chan struct{}, 1),
		made:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_thumbnails_made_total", Help: "Thumbnails of photos made and stored."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_thumbnail_failures_total", Help: "Photos whose thumbnail could not be made or stored."}),
		found:  map[string]bool{}, busy: map[string]bool{},
	}
	for _, r := range roots {
		t.roots[r.Name] = r.Path
	}
	t.rescan.Store(true)
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

// follow makes t the agent's: it begins once ready is closed (the first
// scan queued what it found), makes thumbnails only while q has no upload
// queued or in flight, and is woken when q drains and when a photo is
// stored. A nil thumbnailer follows nothing.
func (t *thumbnailer) follow(q *queue, ready <-chan struct{}) {
	if t == nil {
		return
	}
	t.hinting, t.uploads, t.start = true, q, ready
	q.idle = t.nudge
}

// nudge wakes run; it never blocks.
func (t *thumbnailer) nudge() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// offer tells of a photo just stored: the agent makes its thumbnail once
// the uploads are done, before reading the journal; found says the
// storage held the original already, so its thumbnail may be there too.
// It never blocks, and a photo it drops is made from the journal later.
// A nil thumbnailer takes nothing.
func (t *thumbnailer) offer(j thumbJob) {
	if t == nil || j.sha256 == "" || !thumb.Supports(j.path) {
		return
	}
	t.mu.Lock()
	if j.found && len(t.found) < thumbFoundMax {
		t.found[j.sha256] = true
	}
	hinting := t.hinting
	if hinting && len(t.hints) < thumbHints {
		t.hints = append(t.hints, j)
	} else if hinting {
		t.rescan.Store(true)
	}
	t.mu.Unlock()
	if hinting {
		t.nudge()
	}
}

// run makes the agent's thumbnails until ctx ends, one at a time and only
// while no upload is queued or in flight: each thumbnail is a pause
// between uploads of at most one decode. At the end of ctx, the thumbnail
// under way stops at its next storage call. A nil thumbnailer returns at
// once.
func (t *thumbnailer) run(ctx context.Context) {
	if t == nil {
		return
	}
	if t.start != nil {
		select {
		case <-ctx.Done():
			return
		case <-t.start:
		}
	}
	for ctx.Err() == nil {
		if t.uploads != nil && t.uploads.busy() {
			t.await(ctx, nil)
			continue
		}
		j, ok, err := t.take(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				t.log.Warn().Err(err).Msg("thumbnails wait a minute")
			}
			t.await(ctx, time.After(thumbRetry))
			continue
		case !ok:
			t.await(ctx, nil)
			continue
		}
		if r, err := t.thumbnail(ctx, j); r == thumbStopped && ctx.Err() == nil {
			t.log.Warn().Str("error", storage.Short(err)).Msg("thumbnails wait a minute")
			t.rescan.Store(true) // j is made on the next read of the journal
			t.await(ctx, time.After(thumbRetry))
		}
	}
}

// await waits for a nudge, or for after (when not nil), or the end of ctx.
func (t *thumbnailer) await(ctx context.Context, after <-chan time.Time) {
	if after != nil {
		select {
		case <-ctx.Done():
		case <-after:
		}
		return
	}
	select {
	case <-ctx.Done():
	case <-t.wake:
	}
}

// take hands out the next photo whose thumbnail to make: an offer, else
// the next one of the journal's read; false when there is none.
func (t *thumbnailer) take(ctx context.Context) (thumbJob, bool, error) {
	t.mu.Lock()
	if len(t.hints) > 0 {
		j := t.hints[0]
		t.hints = t.hints[1:]
		t.mu.Unlock()
		return j, true, nil
	}
	t.mu.Unlock()
	t.scanMu.Lock()
	defer t.scanMu.Unlock()
	for {
		if len(t.page) > 0 {
			j := t.page[0]
			t.page = t.page[1:]
			return j, true, nil
		}
		if !t.scanning {
			if !t.rescan.Swap(false) {
				return thumbJob{}, false, nil
			}
			t.scanning, t.after = true, 0
		}
		rows, err := t.journal.MissingThumbs(ctx, t.after, thumbPage)
		if err != nil {
			t.scanning = false
			t.rescan.Store(true)
			return thumbJob{}, false, err
		}
		if len(rows) == 0 {
			t.scanning = false
			continue
		}
		t.after = rows[len(rows)-1].ID
		for _, f := range rows {
			if j, ok := t.jobOf(f); ok {
				t.page = append(t.page, j)
			}
		}
	}
}

// jobOf is the thumbnail job of a stored file, when it is a photo under a
// watched folder.
func (t *thumbnailer) jobOf(f journal.File) (thumbJob, bool) {
	dir, ok := t.roots[f.Root]
	if !ok || !thumb.Supports(f.Path) {
		return thumbJob{}, false
	}
	return thumbJob{id: f.ID, path: filepath.Join(dir, filepath.FromSlash(f.Path)), sha256: f.SHA256, identity: f.Identity}, true
}

// thumbnail stores the thumbnail of j unless the journal has its content
// (made, or failed before), the storage already holds it (looked for only
// when the original was found stored: a photo just sent has none), or
// another worker makes it now.
func (t *thumbnailer) thumbnail(parent context.Context, j thumbJob) (thumbResult, error) {
	if !t.keys.Ready() {
		return thumbStopped, auth.ErrSignedOut // no account to store it in
	}
	if !t.claim(j.sha256) {
		return thumbKnown, nil
	}
	defer t.release(j.sha256)
	ctx, cancel := context.WithTimeout(parent, thumbTimeout)
	defer cancel()
	key := t.keys.UserPrefix() + ThumbsFolder + j.sha256 + ".jpg"
	if th, err := t.journal.Thumb(ctx, j.sha256); err == nil {
		if th.Key != "" {
			t.show(ctx, j, th.Key, nil)
		}
		return thumbKnown, nil
	}
	if fi, err := os.Stat(j.path); err != nil || !journal.IdentityOf(fi).Equal(j.identity) {
		t.log.Debug().Str("path", j.path).Msg("changed since it was stored: its thumbnail waits for its upload")
		return thumbSkipped, nil
	}
	if t.wasFound(j) {
		_, err := t.st.Stat(ctx, key)
		switch {
		case err == nil: // made before a journal was lost, or by another device
			t.record(ctx, j, key, nil)
			return thumbFound, nil
		case !errors.Is(err, storage.ErrNotFound):
			return thumbStopped, err
		}
	}
	start := time.Now()
	b, r := t.make(ctx, j)
	if b == nil {
		return r, nil
	}
	sum := sha256.Sum256(b)
	meta := storage.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: time.Now(), Device: t.keys.Device, ContentType: "image/jpeg"}
	if _, err := t.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), crc32cOf(b), meta); err != nil {
		if parent.Err() == nil {
			t.failed.Inc()
		}
		return thumbStopped, err
	}
	t.made.Inc()
	t.log.Debug().Str("path", j.path).Str("key", key).Int("size_bytes", len(b)).
		Int64("duration_ms", time.Since(start).Milliseconds()).Msg("thumbnail stored")
	t.record(ctx, j, key, b)
	return thumbMade, nil
}

// make returns the thumbnail of j's photo; nil, with how it ended, when
// none can be made now (the journal records a photo none can be made of).
func (t *thumbnailer) make(ctx context.Context, j thumbJob) ([]byte, thumbResult) {
	orientation := 0
	if info, err := capture.Read(j.path, j.identity.MTime); err == nil {
		orientation = info.Orientation
	}
	b, err := thumb.Make(j.path, orientation)
	switch {
	case err == nil:
		return b, thumbMade
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		t.log.Debug().Str("path", j.path).Err(err).Msg("no thumbnail for now")
		return nil, thumbSkipped
	case errors.Is(err, thumb.ErrUnsupported):
		t.log.Debug().Str("path", j.path).Err(err).Msg("no thumbnail")
		t.recordFailure(ctx, j, err)
		return nil, thumbNone
	}
	t.failed.Inc()
	t.log.Warn().Str("path", j.path).Err(err).Msg("no thumbnail for this photo; the photo itself is backed up")
	t.recordFailure(ctx, j, err)
	return nil, thumbFailed
}

// wasFound reports whether j's original was found stored: then its
// thumbnail may be stored too.
func (t *thumbnailer) wasFound(j thumbJob) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	found := j.found || t.found[j.sha256]
	delete(t.found, j.sha256)
	return found
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

// record journals the thumbnail of j as stored under key, even at the
// end of ctx (it is stored: it must not be made again), and shows it.
func (t *thumbnailer) record(ctx context.Context, j thumbJob, key string, b []byte) {
	if err := t.journal.AddThumb(context.WithoutCancel(ctx), j.sha256, key); err != nil {
		t.log.Debug().Err(err).Msg("thumbnail not journaled: it is looked for again next time")
	}
	t.show(ctx, j, key, b)
}

// recordFailure journals that no thumbnail can be made of j's content.
func (t *thumbnailer) recordFailure(ctx context.Context, j thumbJob, err error) {
	if err := t.journal.ThumbFailed(context.WithoutCancel(ctx), j.sha256, err.Error()); err != nil {
		t.log.Debug().Err(err).Msg("thumbnail failure not journaled: it is tried again next time")
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
