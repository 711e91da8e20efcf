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
	assets map[int64]asset     // by file id
	claims map[string]claim    // by key
	byFile map[int64]string    // file id → the key it claims
	waits  map[int64]time.Time // file id → first found waiting for its main's key (sender.later)
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
		m.assets, m.claims, m.byFile, m.waits = map[int64]asset{}, map[string]claim{}, map[int64]string{}, map[int64]time.Time{}
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

// patience reports whether file, a group member waiting for its main's
// key, has waited wait since it was first found waiting (and starts that
// clock when it had not).
func (m *memo) patience(file int64, wait time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	since, ok := m.waits[file]
	if !ok {
		if len(m.waits) >= maxAssets {
			clear(m.waits)
		}
		m.waits[file] = time.Now()
		return false
	}
	return time.Since(since) >= wait
}

// forgetWait forgets that file waited for its main's key.
func (m *memo) forgetWait(file int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.waits, file)
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
// content), its group, and its key before any suffix. A group's members
// other than its main photo (a sidecar, a Live Photo's video, the RAW of
// RAW+JPEG) take their key from the main's (follow); a sidecar is dated by
// its photo too. A file that changed keeps the key of its earlier content
// (ownKey): only a new path, a recreated file or another file moved over
// it takes a new key from the template. A member whose main is on its way
// waits for its key here; the agent's workers and backup ask later first
// and hold such a member back instead (the queue, the end of the pass), so
// this wait is left for a member sent when its main will not be stored.
func (s *sender) describe(ctx context.Context, j job) asset {
	a, _ := s.describeAs(ctx, j, waitHere)
	return a
}

// describeAhead is describe for the window told ahead (uploader.Ahead): a
// member does not wait for its main there, as the main may be in the same
// window; false when its key is not known yet (its upload describes it
// again, and the window leaves it out).
func (s *sender) describeAhead(ctx context.Context, j job) (asset, bool) {
	return s.describeAs(ctx, j, noWait)
}

// later reports whether j's file must not be sent yet: a member of a
// group whose main photo is on disk but not stored yet (or, for a
// sidecar, not there yet), for up to photoWait. Its key comes from the
// main's, which a collision suffix may change; the worker hands the file
// back to the queue (queue.later) rather than wait. Once it may go, its
// asset is kept for the upload.
func (s *sender) later(ctx context.Context, j job) bool {
	if !s.keys.Ready() {
		return false // send says why
	}
	_, ready := s.describeAs(ctx, j, handBack)
	return !ready
}

// waitMode is how describeAs treats a member whose main's key is not
// known yet.
type waitMode int

const (
	noWait   waitMode = iota // key it from the template, keep nothing: the window told ahead
	waitHere                 // wait for a main being uploaded, for a sidecar's photo to appear: cloudkeep backup
	handBack                 // report it not ready, for up to photoWait: the agent's workers
)

// describeAs is describe under mode; false when j's file is a member
// whose main's key is not known yet (noWait, handBack): then nothing is
// kept.
func (s *sender) describeAs(ctx context.Context, j job, mode waitMode) (asset, bool) {
	fi, err := os.Stat(j.abs)
	if err != nil {
		return asset{key: s.keys.Key(j.root.Name, j.file.Path, j.file.MTime)}, true // the upload says what is wrong
	}
	id := journal.IdentityOf(fi)
	if a, ok := s.memo.cached(j.file.ID, id); ok {
		return a, true
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
	a.key = s.keys.Key(j.root.Name, j.file.Path, s.keyTime(filepath.Dir(j.abs), name, a.info.Time))
	sidecar := media.IsSidecar(name)
	own := ""
	if !sidecar {
		own = s.ownKey(ctx, j) // a changed photo or video replaces its own object
	}
	follows, ready := false, true
	if own == "" {
		follows, ready = s.follow(ctx, j, &a, mode)
	}
	if sidecar && !follows {
		own = s.ownKey(ctx, j)
	}
	if own != "" {
		a.key = own
	}
	a.meta.Capture, a.meta.CaptureSource = a.info.Time, a.info.Source // a sidecar's are its photo's
	if ready {
		s.memo.keep(j.file.ID, a)
	}
	return a, ready
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

// follow keys a, the asset of j's file, by the main of its group when it
// is another file on disk: a sidecar's photo (sidecarPhoto), else the
// group's main (groupMain). The key is the main's with the main's name
// part kept and the member's own extensions (followKey), so that the
// member sits beside the main and carries its suffix: a restored folder
// pairs a Live Photo's video with its own still, not with another
// device's. A sidecar takes its photo's capture time too. The main's key
// is the one the journal holds once it is stored; until then it is not
// known (a suffix may come), and follow reports not ready, as mode
// allows: a sidecar whose photo has not appeared while it was written less
// than photoWait ago, a main not stored yet for photoWait from the first
// time asked (handBack); or it waits for a main being uploaded and for a
// sidecar's photo to appear (waitHere). Past that, the key comes from the
// template as the main's would. false, true: no main, the file is keyed
// on its own.
func (s *sender) follow(ctx context.Context, j job, a *asset, mode waitMode) (follows, ready bool) {
	name, dir := path.Base(j.file.Path), filepath.Dir(j.abs)
	sidecar := media.IsSidecar(name)
	main := ""
	if sidecar {
		photo, ok := s.awaitPhoto(ctx, j, mode == waitHere)
		if !ok {
			fi, err := os.Stat(j.abs)
			fresh := err == nil && time.Since(fi.ModTime()) < photoWait
			return false, mode == waitHere || !fresh
		}
		main = photo
	} else if m, ok := groupMain(dir, name); ok && m != name {
		main = m
	} else {
		return false, true
	}
	rel := path.Join(path.Dir(j.file.Path), main)
	abs := filepath.Join(dir, main)
	mfi, err := os.Stat(abs)
	if err != nil {
		return false, true
	}
	taken := readCapture(abs, mfi.ModTime())
	if sidecar {
		a.info.Time, a.info.Source = taken.Time, taken.Source // dated by its photo
	}
	mainKey := s.keys.Key(j.root.Name, rel, s.keyTime(dir, main, taken.Time))
	row, err := s.awaitStored(ctx, j.root.Name, rel, mode == waitHere)
	switch {
	case err == nil && row.State == journal.Done && row.Key != "":
		mainKey = row.Key
		ready = true
	case err == nil && row.State == journal.Skipped:
		ready = true // never stored: the template's key
	case err != nil && !errors.Is(err, journal.ErrNotFound):
		s.log.Debug().Err(err).Str("path", rel).Msg("look up the main photo of a group")
		ready = true
	case mode == waitHere:
		ready = true
	case mode == handBack:
		ready = s.memo.patience(j.file.ID, photoWait)
		if !ready {
			s.log.Debug().Str("path", j.abs).Str("main", main).Msg("waits for the key of its main photo")
		}
	}
	if key, ok := followKey(mainKey, main, name); ok {
		a.key = key
	} else if sidecar {
		a.key = s.keys.Key(j.root.Name, j.file.Path, a.info.Time) // the template does not end with the name
	}
	if ready {
		s.memo.forgetWait(j.file.ID)
	}
	return true, ready
}

// awaitStored returns the journal row of the photo at rel inside root,
// once the photo's upload in flight has ended when wait, waiting up to
// photoWait: a member then takes the key the photo got, suffix included,
// not the one its template would give. A photo still queued is not
// waited for: the member's worker may be the one it waits for.
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

// photoWait is how long a member waits for the key of its main photo,
// and a sidecar, after it was last written, for its photo: an editor or a
// phone may write the edit record first.
const photoWait = time.Minute

// photoPoll is how often a waiting sidecar looks for its photo.
var photoPoll = 250 * time.Millisecond

// awaitPhoto returns the name of the photo of j's sidecar (sidecarPhoto),
// waiting for it when wait, while the sidecar was written less than
// photoWait ago: keyed without its photo, a sidecar would never lie beside
// it. false when no photo came.
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
	names, ok := folderStems.members(dir, media.GroupStem(name))
	if !ok {
		return "", false
	}
	best, bestRank := "", 0
	for _, n := range names {
		r, ok := mainRank(n)
		if ok && (best == "" || r < bestRank || (r == bestRank && n < best)) {
			best, bestRank = n, r
		}
	}
	return best, best != ""
}

// folderStems remembers, for the folders of the files being uploaded, which
// regular files (sidecars left out) share each group stem. A folder is read
// again when its modification time changes (a name added, removed or
// renamed), so one listing serves all the files of a burst into it: read
// per file, a folder of n photos cost n listings of n names.
var folderStems = &stemCache{folders: map[string]*stemListing{}}

type stemCache struct {
	mu      sync.Mutex
	folders map[string]*stemListing
}

type stemListing struct {
	mtime time.Time
	stems map[string][]string // group stem → names
}

// mtimeTick is more than the coarsest clock a file system stamps a
// folder's changes with: a listing taken this long after the folder's
// last change sees every change the same stamp could hide.
const mtimeTick = 20 * time.Millisecond

// maxStemFolders bounds the folders remembered at once.
const maxStemFolders = 64

// members returns the names of the regular files of dir whose group stem
// is stem; false when the folder cannot be read.
func (c *stemCache) members(dir, stem string) ([]string, bool) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	l := c.folders[dir]
	c.mu.Unlock()
	if l == nil || !l.mtime.Equal(fi.ModTime()) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, false
		}
		l = &stemListing{mtime: fi.ModTime(), stems: map[string][]string{}}
		for _, e := range entries {
			if n := e.Name(); e.Type().IsRegular() && !media.IsSidecar(n) {
				st := media.GroupStem(n)
				l.stems[st] = append(l.stems[st], n)
			}
		}
		if time.Since(fi.ModTime()) > mtimeTick { // else a change within the same stamp could follow unseen
			c.mu.Lock()
			if len(c.folders) >= maxStemFolders {
				clear(c.folders)
			}
			c.folders[dir] = l
			c.mu.Unlock()
		}
	}
	return l.stems[stem], true
}

// mainRank orders the members of a group: a still first, then a RAW,
// then a video; false for a file of no media kind.
func mainRank(name string) (int, bool) {
	k, ok := media.KindOf(name)
	switch {
	case !ok:
		return 0, false
	case k == media.Photo && !media.IsRAW(name):
		return 0, true
	case k == media.Photo:
		return 1, true
	}
	return 2, true
}

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

// followKey returns the key of the group member named member, whose main
// named main has the key mainKey: the main's name part, its suffix kept,
// with the member's own extensions. A sidecar of the whole name extends
// the main's key ("2024/01/IMG_1~1f2e3d4c.JPG" → "…/IMG_1~1f2e3d4c.JPG.xmp"
// for IMG_1.JPG.xmp); another member takes the suffix before its last
// extension ("…/IMG_1~1f2e3d4c.MOV" for IMG_1.MOV, "…/IMG_1~1f2e3d4c.xmp"
// for IMG_1.xmp, "…/PXL_1.RAW-02.ORIGINAL~1f2e3d4c.dng" for
// PXL_1.RAW-02.ORIGINAL.dng beside PXL_1.RAW-01.COVER.jpg). false when
// mainKey does not end with the main's name, or the names share no part.
func followKey(mainKey, main, member string) (string, bool) {
	dir, last := "", mainKey
	if i := strings.LastIndexByte(mainKey, '/'); i >= 0 {
		dir, last = mainKey[:i+1], mainKey[i+1:]
	}
	escaped := keypath.Escape(main)
	ext := path.Ext(escaped)
	core := strings.TrimSuffix(escaped, ext)
	suffix := ""
	switch {
	case last == escaped:
	case strings.HasPrefix(last, core+"~") && strings.HasSuffix(last, ext) && len(last) > len(escaped)+1:
		suffix = last[len(core) : len(last)-len(ext)] // "~1f2e3d4c"
	default:
		return "", false
	}
	n := sharedName(main, member)
	switch {
	case n == 0:
		return "", false
	case n == len(main):
		return dir + last + keypath.Escape(member[n:]), true
	}
	own := keypath.Escape(main[:n] + member[n:])
	x := path.Ext(own)
	return dir + strings.TrimSuffix(own, x) + suffix + x, true
}

// sharedName is the length of the longest part of main, up to one of its
// dots or whole, that member's name begins with, followed by a dot, in
// any case: "IMG_1" of IMG_1.JPG for IMG_1.MOV, all of photo.jpg for
// photo.jpg.xmp. 0 when none.
func sharedName(main, member string) int {
	for n := len(main); n > 0; n = strings.LastIndexByte(main[:n], '.') {
		if n < len(member) && member[n] == '.' && strings.EqualFold(main[:n], member[:n]) {
			return n
		}
	}
	return 0
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
