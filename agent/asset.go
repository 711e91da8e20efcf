package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/keypath"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/media/capture"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// asset is what the sender knows of a file beyond its bytes: when it was
// taken, the group it belongs to, and the key the template gives it.
type asset struct {
	id   journal.Identity // the file it was read from
	info capture.Info
	key  string       // before any suffix (uploader.Suffixed)
	meta storage.Meta // Capture, CaptureSource, Group, Motion
	read bool         // the file could be read: info is its own
}

// memo remembers the assets of the files about to be sent, so that the
// window told ahead (uploader.Ahead) and the upload use the same values
// (a grant in account mode matches its exact metadata), and which keys the
// uploads in flight are claiming.
type memo struct {
	mu     sync.Mutex
	assets map[int64]asset  // by file id
	claims map[string]claim // by key
	byFile map[int64]string // file id → the key it claims
}

// claim is a key an upload in flight is about to write; gone closes when
// it no longer is.
type claim struct {
	file   int64
	sha256 string
	gone   chan struct{}
}

// maxAssets bounds the memo: files told ahead whose upload never came.
const maxAssets = 4096

func (m *memo) init() {
	if m.assets == nil {
		m.assets, m.claims, m.byFile = map[int64]asset{}, map[string]claim{}, map[int64]string{}
	}
}

// cached returns the asset of file id, when read from the identity id.
func (m *memo) cached(file int64, id journal.Identity) (asset, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	a, ok := m.assets[file]
	return a, ok && a.id.Equal(id)
}

func (m *memo) keep(file int64, a asset) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if len(m.assets) >= maxAssets {
		clear(m.assets)
	}
	m.assets[file] = a
}

// take claims key for file, whose content is sha256, in place of the key
// it claimed before. When another upload in flight claims key for another
// content, it claims nothing and returns false with a channel closed once
// that claim ends: the other upload may yet go elsewhere.
func (m *memo) take(key string, file int64, sha256 string) (bool, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.dropClaim(file)
	c, ok := m.claims[key]
	if ok && c.sha256 != sha256 {
		return false, c.gone
	}
	if ok {
		close(c.gone) // the same content: this claim stands for both
	}
	m.claims[key], m.byFile[file] = claim{file, sha256, make(chan struct{})}, key
	return true, nil
}

// done forgets the asset and the claim of file, whose upload ended.
func (m *memo) done(file int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.assets, file)
	m.dropClaim(file)
}

func (m *memo) dropClaim(file int64) {
	if k, ok := m.byFile[file]; ok {
		if c := m.claims[k]; c.file == file {
			close(c.gone)
			delete(m.claims, k)
		}
		delete(m.byFile, file)
	}
}

// describe returns the asset of j's file: its capture time (read once per
// content), its group, and its key before any suffix. A sidecar is dated
// and keyed by its photo (followPhoto); a group's other members are keyed
// by the date of its main photo (keyTime). A file that changed keeps the
// key of its earlier content (ownKey): only a new path, a recreated file
// or another file moved over it takes a new key from the template.
func (s *sender) describe(ctx context.Context, j job) asset { return s.describeAs(ctx, j, true) }

// describeAhead is describe for the window told ahead (uploader.Ahead): a
// sidecar does not wait for its photo there, as the photo may be in the
// same window, and its asset is not kept: its upload describes it again.
func (s *sender) describeAhead(ctx context.Context, j job) asset { return s.describeAs(ctx, j, false) }

func (s *sender) describeAs(ctx context.Context, j job, wait bool) asset {
	fi, err := os.Stat(j.abs)
	if err != nil {
		return asset{key: s.keys.Key(j.root.Name, j.file.Path, j.file.MTime)} // the upload says what is wrong
	}
	id := journal.IdentityOf(fi)
	if a, ok := s.memo.cached(j.file.ID, id); ok {
		return a
	}
	a := asset{id: id, info: readCapture(j.abs, fi.ModTime()), read: true}
	name := path.Base(j.file.Path)
	dir := path.Dir(j.file.Path)
	if dir == "." {
		dir = ""
	}
	a.meta = storage.Meta{
		Group:  media.GroupID(s.keys.Device, j.root.Name, dir, media.GroupStem(name)),
		Motion: a.info.Motion,
	}
	a.meta.Capture, a.meta.CaptureSource = a.info.Time, a.info.Source
	a.key = s.keys.Key(j.root.Name, j.file.Path, s.keyTime(filepath.Dir(j.abs), name, a.info.Time))
	if media.IsSidecar(name) && s.followPhoto(ctx, j, &a, wait) {
		a.meta.Capture, a.meta.CaptureSource = a.info.Time, a.info.Source // dated by its photo
	} else if own := s.ownKey(ctx, j); own != "" {
		a.key = own // a changed file replaces its own object
	}
	if wait || !media.IsSidecar(name) {
		s.memo.keep(j.file.ID, a)
	}
	return a
}

// readCapture is capture.Read, which falls back to mtime when the file
// cannot be read: the upload then says why.
func readCapture(abs string, mtime time.Time) capture.Info {
	info, err := capture.Read(abs, mtime)
	if err != nil || info.Time.IsZero() {
		return capture.Info{Time: mtime.In(time.Local), Source: wire.CaptureMTime}
	}
	return info
}

// followPhoto dates and keys a sidecar by its photo: the sidecar takes the
// photo's capture time, and the photo's key with the photo's name
// replaced by its own, so that it sits beside the photo and carries the
// photo's suffix. The photo's key is the one the journal holds when it is
// stored (a photo on its way is waited for: awaitStored), else the one
// its capture time gives. A sidecar written before its photo waits for
// it (awaitPhoto); without a photo on disk then, the sidecar is keyed on
// its own, and followPhoto returns false.
func (s *sender) followPhoto(ctx context.Context, j job, a *asset, wait bool) bool {
	photo, ok := s.awaitPhoto(ctx, j, wait)
	if !ok {
		return false
	}
	rel := path.Join(path.Dir(j.file.Path), photo)
	abs := filepath.Join(filepath.Dir(j.abs), photo)
	pfi, err := os.Stat(abs)
	if err != nil {
		return false
	}
	taken := readCapture(abs, pfi.ModTime())
	a.info.Time, a.info.Source = taken.Time, taken.Source
	photoKey := s.keys.Key(j.root.Name, rel, s.keyTime(filepath.Dir(abs), photo, a.info.Time))
	if row, err := s.awaitStored(ctx, j.root.Name, rel, wait); err == nil && row.Key != "" && row.State == journal.Done {
		photoKey = row.Key
	} else if err != nil && !errors.Is(err, journal.ErrNotFound) {
		s.log.Debug().Err(err).Str("path", rel).Msg("look up the photo of a sidecar")
	}
	if key, ok := followKey(photoKey, photo, path.Base(j.file.Path)); ok {
		a.key = key
		return true
	}
	a.key = s.keys.Key(j.root.Name, j.file.Path, a.info.Time) // the template does not end with the name
	return true
}

// awaitStored returns the journal row of the photo at rel inside root,
// once the photo's upload in flight has ended, waiting up to photoWait: a
// sidecar then takes the key the photo got, suffix included, not the one
// its template would give. A photo still queued is not waited for: the
// sidecar's worker may be the one it waits for.
func (s *sender) awaitStored(ctx context.Context, root, rel string, wait bool) (journal.File, error) {
	deadline := time.Now().Add(photoWait)
	for {
		row, err := s.journal.Lookup(ctx, root, rel)
		if err != nil || row.State != journal.Uploading || !wait || time.Now().After(deadline) {
			return row, err
		}
		select {
		case <-ctx.Done():
			return row, ctx.Err()
		case <-time.After(photoPoll):
		}
	}
}

// photoWait is how long after it was last written a sidecar waits for its
// photo: an editor or a phone may write the edit record first.
const photoWait = time.Minute

// photoPoll is how often a waiting sidecar looks for its photo.
var photoPoll = 250 * time.Millisecond

// awaitPhoto returns the name of the photo of j's sidecar (sidecarPhoto),
// waiting for it while the sidecar was written less than photoWait ago:
// keyed without its photo, a sidecar would never lie beside it. false
// when no photo came.
func (s *sender) awaitPhoto(ctx context.Context, j job, wait bool) (string, bool) {
	dir, name := filepath.Dir(j.abs), path.Base(j.file.Path)
	for logged := false; ; logged = true {
		if photo, ok := sidecarPhoto(dir, name); ok {
			return photo, true
		}
		fi, err := os.Stat(j.abs)
		if err != nil || !wait || time.Since(fi.ModTime()) >= photoWait {
			return "", false
		}
		if !logged {
			s.log.Debug().Str("path", j.abs).Msg("sidecar waits for its photo")
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-time.After(photoPoll):
		}
	}
}

// keyTime returns the time whose date keys the file named name in the
// folder dir, taken at taken: the capture time of its group's main
// member (groupMain) when that is another file on disk, so that a Live
// Photo's video, or a RAW beside its JPEG, lands in its photo's folder
// even when its own clock says another day. The object keeps its own
// capture time. Only a dated template looks.
func (s *sender) keyTime(dir, name string, taken time.Time) time.Time {
	if !s.keys.Dated() || media.IsSidecar(name) {
		return taken
	}
	main, ok := groupMain(dir, name)
	if !ok || main == name {
		return taken
	}
	abs := filepath.Join(dir, main)
	fi, err := os.Stat(abs)
	if err != nil {
		return taken
	}
	return readCapture(abs, fi.ModTime()).Time
}

// groupMain returns the name of the main member of the group of the file
// named name in folder dir: its still (JPEG, HEIC and the other photos
// that are not RAW), else a RAW, else a video, in name order. false when
// the folder cannot be read.
func groupMain(dir, name string) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	stem := media.GroupStem(name)
	best, bestRank := "", 0
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || media.IsSidecar(n) || media.GroupStem(n) != stem {
			continue
		}
		r, ok := mainRank(n)
		if ok && (best == "" || r < bestRank || (r == bestRank && n < best)) {
			best, bestRank = n, r
		}
	}
	return best, best != ""
}

// mainRank orders the members of a group: a still first, then a RAW,
// then a video; false for a file of no media kind.
func mainRank(name string) (int, bool) {
	k, ok := media.KindOf(name)
	switch {
	case !ok:
		return 0, false
	case k == media.Photo && !slices.Contains(rawExts, strings.ToLower(path.Ext(name))):
		return 0, true
	case k == media.Photo:
		return 1, true
	}
	return 2, true
}

// rawExts are the RAW photos, which a group's still outranks.
var rawExts = []string{".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"}

// ownKey returns the key j's file keeps when its content changes: the key
// that holds its earlier content (journal.OwnKey: not when the file was
// recreated, or another file moved over it), while that key is one the
// template gives this file at some date, with or without a suffix. ""
// otherwise: the key comes from the template.
func (s *sender) ownKey(ctx context.Context, j job) string {
	if j.file.Key == "" {
		return ""
	}
	key, err := s.journal.OwnKey(ctx, j.file.ID)
	if err != nil {
		s.log.Debug().Err(err).Str("path", j.abs).Msg("look up the key of a file")
		return ""
	}
	if key == "" || !s.keys.Gives(key, j.root.Name, j.file.Path) {
		return ""
	}
	return key
}

// sidecarPhoto returns the name of the photo in folder dir that the
// sidecar named name belongs to: the file whose name the sidecar's extends
// (photo.jpg for photo.jpg.xmp), else a file of the same group stem that
// is not a sidecar, photos before videos, in name order.
func sidecarPhoto(dir, name string) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	stem := media.GroupStem(name)
	var found []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || n == name || media.IsSidecar(n) || media.GroupStem(n) != stem {
			continue
		}
		if strings.TrimSuffix(name, path.Ext(name)) == n {
			return n, true
		}
		if _, known := media.KindOf(n); known {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	slices.SortStableFunc(found, func(x, y string) int {
		kx, _ := media.KindOf(x)
		ky, _ := media.KindOf(y)
		if (kx == media.Photo) != (ky == media.Photo) {
			if kx == media.Photo {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	})
	return found[0], true
}

// followKey returns the key of the sidecar named sidecar, whose photo
// named photo has the key photoKey: photoKey with the photo's name part
// replaced by the sidecar's, its suffix kept ("2024/01/IMG_1~1f2e3d4c.JPG"
// → "2024/01/IMG_1~1f2e3d4c.JPG.xmp" for IMG_1.JPG.xmp, "…/IMG_1~1f2e3d4c.xmp"
// for IMG_1.xmp). false when photoKey does not end with the photo's name.
func followKey(photoKey, photo, sidecar string) (string, bool) {
	dir, last := "", photoKey
	if i := strings.LastIndexByte(photoKey, '/'); i >= 0 {
		dir, last = photoKey[:i+1], photoKey[i+1:]
	}
	escaped := keypath.Escape(photo)
	ext := path.Ext(escaped)
	core := strings.TrimSuffix(escaped, ext)
	if last != escaped && !(strings.HasPrefix(last, core+"~") && strings.HasSuffix(last, ext)) {
		return "", false
	}
	if strings.HasPrefix(sidecar, photo) {
		return dir + last + keypath.Escape(sidecar[len(photo):]), true
	}
	stem := strings.TrimSuffix(photo, path.Ext(photo))
	if len(sidecar) > len(stem) && strings.EqualFold(sidecar[:len(stem)], stem) {
		return dir + strings.TrimSuffix(last, ext) + keypath.Escape(sidecar[len(stem):]), true
	}
	return "", false
}

// Gives reports whether key is one the template gives the file at path
// rel (slash-separated) inside root on this device, at some date, with or
// without a suffix (uploader.Suffixed).
func (t KeyTemplate) Gives(key, root, rel string) bool {
	p, ok := t.Parser().Parse(key)
	if !ok {
		return false
	}
	if strings.Contains(t.Template, "{device}") && p.Device != t.Device {
		return false
	}
	if strings.Contains(t.Template, "{root}") && p.Root != root {
		return false
	}
	want := rel
	if !strings.Contains(t.Template, "{path}") {
		want = path.Base(rel)
	}
	return p.Path == want || unsuffixed(p.Path) == want
}

// unsuffixed is p without the content-hash suffix of its last segment
// (uploader.Suffixed): "a/IMG_1~1f2e3d4c.JPG" → "a/IMG_1.JPG".
func unsuffixed(p string) string {
	m := suffixed.FindStringSubmatch(p)
	if m == nil {
		return p
	}
	return m[1] + m[2]
}

var suffixed = regexp.MustCompile(`^(.*)~(?:[0-9a-f]{64}|[0-9a-f]{16}|[0-9a-f]{8})((?:\.[^./]*)?)$`)

// claimFor returns the uploader's Claim of j's file: a key the journal
// shows holding another file's content is Held; the key the file's row
// holds is Own. A key another upload in flight claims for another content
// is waited for: that upload may go elsewhere, and once it is journaled
// the journal answers. The claim is taken before the journal is asked, so
// that an upload journaled meanwhile is seen.
func (s *sender) claimFor(j job) uploader.Claim {
	return func(ctx context.Context, key, sha256 string) (uploader.Hold, error) {
		for {
			ok, gone := s.memo.take(key, j.file.ID, sha256)
			if ok {
				break
			}
			select {
			case <-gone:
			case <-ctx.Done():
				return uploader.Held, ctx.Err()
			}
		}
		held, err := s.journal.KeyHeld(ctx, key, sha256, j.file.ID)
		switch {
		case err != nil:
			return uploader.Held, err
		case held:
			return uploader.Held, nil
		case key == j.file.Key:
			return uploader.Own, nil
		}
		return uploader.Free, nil
	}
}

// skipReason says why a file taken at taken is not backed up under
// media.since, e.g. "captured 2019-05-01, before media.since 2024-01-01";
// "" when it is backed up. Days are compared on the wall clock of the
// place each was set.
func skipReason(taken, since time.Time) string {
	if since.IsZero() || taken.IsZero() {
		return ""
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	if !day(taken).Before(day(since)) {
		return ""
	}
	return fmt.Sprintf("captured %s, %s", taken.Format(time.DateOnly), sinceText(since))
}

// sinceText is the end of every skip reason under since: the journal
// keeps it, and tells by it which skips an earlier media.since made
// (Journal.PendSkipped).
func sinceText(since time.Time) string {
	if since.IsZero() {
		return ""
	}
	return "before media.since " + since.Format(time.DateOnly)
}

// pendSkipped makes pending again the files an earlier media.since
// skipped, when media.since is no longer that day: they are looked at
// anew.
func pendSkipped(ctx context.Context, j *journal.Journal, since time.Time, log zerolog.Logger) {
	n, err := j.PendSkipped(ctx, sinceText(since))
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn().Err(err).Msg("could not look again at files skipped under another media.since")
	case n > 0:
		log.Info().Int("files", n).Msg("media.since changed: looking again at the files it skipped")
	}
}
