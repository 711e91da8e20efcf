package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/media"
)

// change is a path the watcher saw change.
type change struct {
	root    Root
	abs     string
	rel     string
	dirGone bool // a watched folder was removed or moved away
	noWrite bool // not a write the watcher saw (a chmod, a rescan, a retry): teaches the settler nothing
}

// RootHealth is how well a root is watched.
type RootHealth struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Exists   bool   `json:"exists"`
	Watches  int    `json:"watches"`        // folders watched
	Fallback bool   `json:"fallback"`       // the watch limit was hit: scanned every poll interval instead
	Note     string `json:"note,omitempty"` // why the root cannot be what the user meant, when known
}

// privateTmpNote is the note of a root under /tmp or /var/tmp when the
// agent runs as a systemd service (INVOCATION_ID is set): the packaged
// unit's PrivateTmp=yes gives the service a /tmp of its own.
func privateTmpNote(path string) string {
	if os.Getenv("INVOCATION_ID") == "" {
		return ""
	}
	for _, tmp := range []string{"/tmp", "/var/tmp"} {
		if path == tmp || strings.HasPrefix(path, tmp+"/") {
			return tmp + " is private to the service (PrivateTmp=yes): watch another folder"
		}
	}
	return ""
}

// watcher watches every folder under the roots (fsnotify is not
// recursive) and reports changed paths. It also asks for a rescan of a root
// when events were lost, and polls roots it cannot watch.
type watcher struct {
	fs         *fsnotify.Watcher
	roots      []Root
	poll       time.Duration
	maxWatches int // 0: as many as the system allows; tests set a limit
	log        zerolog.Logger
	changes    chan<- change
	rescans    chan<- Root

	mu     sync.Mutex
	dirs   map[string]Root   // watched folder → its root
	marked map[string]string // folder → the marker file it holds: watched, not entered
	health map[string]*RootHealth
}

func newWatcher(roots []Root, poll time.Duration, changes chan<- change, rescans chan<- Root, log zerolog.Logger) (*watcher, error) {
	fw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		if errors.Is(err, syscall.EMFILE) {
			return nil, errors.New("cannot watch folders: the system's inotify instance limit (fs.inotify.max_user_instances) is reached")
		}
		return nil, err
	}
	w := &watcher{fs: fw, roots: roots, poll: poll, changes: changes, rescans: rescans,
		log: log.With().Str("component", "watcher").Logger(), dirs: map[string]Root{}, marked: map[string]string{}, health: map[string]*RootHealth{}}
	for _, r := range roots {
		w.health[r.Name] = &RootHealth{Name: r.Name, Path: r.Path, Note: privateTmpNote(r.Path)}
		if n := w.health[r.Name].Note; n != "" {
			w.log.Warn().Str("root", r.Name).Str("path", r.Path).Msg("folder is not the one you see: " + n)
		}
	}
	return w, nil
}

// start watches every root that exists; it returns once the watches are
// in place, so that a scan that follows misses nothing.
func (w *watcher) start() {
	for _, r := range w.roots {
		w.addRoot(r)
	}
}

// run handles events until ctx ends, then closes the watcher.
func (w *watcher) run(ctx context.Context) error {
	defer w.fs.Close()
	tick := time.NewTicker(w.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fs.Events:
			if !ok {
				return nil
			}
			w.handle(ctx, ev)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return nil
			}
			w.handleError(err)
		case <-tick.C:
			w.pollRoots()
		}
	}
}

func (w *watcher) addRoot(r Root) bool {
	_, err := os.Stat(r.Path)
	w.mu.Lock()
	h := w.health[r.Name]
	was := h.Exists
	h.Exists = err == nil
	w.mu.Unlock()
	if err != nil {
		if was || !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn().Err(err).Str("root", r.Name).Msg("cannot watch folder; trying again every poll interval")
		} else {
			w.log.Warn().Str("root", r.Name).Str("path", r.Path).Msg("folder does not exist yet; trying again every poll interval")
		}
		return false
	}
	w.addTree(r, r.Path, nil)
	return true
}

// addTree watches dir and every folder below it, each before it is read,
// so that nothing created meanwhile is missed. A folder that holds a marker
// file (.nomedia, .nobackup) is watched, to see the marker go, but not
// entered. When emit is set, every file found is reported: the folder is
// new (created or moved in). Hidden and temporary names are passed over.
func (w *watcher) addTree(r Root, dir string, emit func(change)) {
	w.watch(r, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.log.Debug().Err(err).Str("path", dir).Msg("cannot read")
	}
	if m := markerIn(entries); m != "" {
		w.mu.Lock()
		w.marked[dir] = m
		w.mu.Unlock()
		return
	}
	for _, e := range entries {
		if media.Ignored(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			w.addTree(r, p, emit)
		case emit != nil && e.Type().IsRegular():
			emit(change{root: r, abs: p, rel: relSlash(r, p)})
		}
	}
}

// markerChanged reads dir again after an event on a marker file in it.
// When the folder gains a marker, the folders below it are no longer
// watched; when it loses its last one, they are watched again. Either way
// its root is rescanned: the scan logs the skipped folder, or finds the
// files to back up at once.
func (w *watcher) markerChanged(r Root, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // the folder is gone: its own event says so
	}
	m := markerIn(entries)
	w.mu.Lock()
	was := w.marked[dir]
	if m != "" {
		w.marked[dir] = m
	} else {
		delete(w.marked, dir)
	}
	w.mu.Unlock()
	switch {
	case m != "" && was == "":
		w.dropBelow(dir)
		w.rescan(r)
	case m == "" && was != "":
		w.log.Info().Str("root", r.Name).Str("path", relSlash(r, dir)).Msg("folder backed up again: " + was + " removed")
		w.addTree(r, dir, nil)
		w.rescan(r)
	}
}

// inMarked reports whether a folder above path, within root r, holds a
// marker file: nothing below it is backed up.
func (w *watcher) inMarked(r Root, path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.marked) == 0 {
		return false
	}
	for d := filepath.Dir(path); within(r.Path, d); d = filepath.Dir(d) {
		if _, ok := w.marked[d]; ok {
			return true
		}
		if d == r.Path {
			break
		}
	}
	return false
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

func (w *watcher) watch(r Root, dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.health[r.Name]
	if h.Fallback {
		return
	}
	var err error
	if w.maxWatches > 0 && len(w.dirs) >= w.maxWatches {
		err = syscall.ENOSPC
	} else {
		err = w.fs.Add(dir)
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		h.Fallback = true
		w.log.Warn().Str("root", r.Name).Dur("poll_interval_ms", w.poll).
			Msg("the system's inotify watch limit (fs.inotify.max_user_watches) is reached: " +
				"folders of this root are scanned every poll_interval instead; raise the limit with " +
				"`sysctl fs.inotify.max_user_watches=524288`")
	case err != nil:
		w.log.Warn().Err(err).Str("path", dir).Msg("cannot watch folder")
	default:
		if _, ok := w.dirs[dir]; !ok {
			w.dirs[dir] = r
			h.Watches++
		}
	}
}

func (w *watcher) handle(ctx context.Context, ev fsnotify.Event) {
	r, rel, ok := w.locate(ev.Name)
	if !ok {
		return
	}
	if ev.Name != r.Path && isMarker(filepath.Base(ev.Name)) {
		w.markerChanged(r, filepath.Dir(ev.Name))
		return
	}
	if ignoredPath(rel) || w.inMarked(r, ev.Name) {
		return
	}
	if ev.Op == fsnotify.Chmod {
		// Linux sends Chmod on unlink too: only a file still there counts.
		// Made readable, a file that could not be read is tried again.
		if fi, err := os.Stat(ev.Name); err == nil && fi.Mode().IsRegular() {
			w.send(ctx, change{root: r, abs: ev.Name, rel: rel, noWrite: true})
		}
		return
	}
	w.log.Debug().Str("event", ev.Op.String()).Str("path", ev.Name).Msg("event")
	emit := func(c change) { w.send(ctx, c) }
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			w.addTree(r, ev.Name, emit)
			return
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.dropDir(ev.Name) {
			emit(change{root: r, abs: ev.Name, rel: rel, dirGone: true})
			return
		}
	}
	emit(change{root: r, abs: ev.Name, rel: rel})
}

// dropDir forgets a watched folder and the folders below it, and reports
// whether path was one.
func (w *watcher) dropDir(path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.dirs[path]
	if !ok {
		return false
	}
	w.unwatch(r, path, true)
	if path == r.Path {
		w.health[r.Name].Exists = false
	}
	return true
}

// dropBelow stops watching the folders below dir, which stays watched.
func (w *watcher) dropBelow(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.dirs[dir]; ok {
		w.unwatch(r, dir, false)
	}
}

// unwatch forgets the folders of r below path, and path itself when self
// is set, with the markers they held. w.mu is held.
func (w *watcher) unwatch(r Root, path string, self bool) {
	prefix := path + string(filepath.Separator)
	for d := range w.dirs {
		if (self && d == path) || strings.HasPrefix(d, prefix) {
			w.fs.Remove(d) // may be gone already
			delete(w.dirs, d)
			w.health[r.Name].Watches--
		}
	}
	for d := range w.marked {
		if (self && d == path) || strings.HasPrefix(d, prefix) {
			delete(w.marked, d)
		}
	}
}

func (w *watcher) handleError(err error) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Error().Err(err).Msg("watch error")
		return
	}
	w.log.Warn().Msg("file events were lost (the kernel queue overflowed): rescanning every folder")
	for _, r := range w.roots {
		w.rescan(r)
	}
}

// pollRoots retries roots that do not exist yet and rescans the ones that
// cannot be watched.
func (w *watcher) pollRoots() {
	for _, r := range w.roots {
		w.mu.Lock()
		h := *w.health[r.Name]
		w.mu.Unlock()
		switch {
		case !h.Exists:
			if w.addRoot(r) {
				w.log.Info().Str("root", r.Name).Msg("folder appeared; watching it")
				w.rescan(r)
			}
		case h.Fallback:
			w.rescan(r)
		}
	}
}

func (w *watcher) send(ctx context.Context, c change) {
	select {
	case w.changes <- c:
	case <-ctx.Done():
	}
}

// rescan asks for a scan of r without waiting: when the queue of requests
// is full, scans are pending anyway.
func (w *watcher) rescan(r Root) {
	select {
	case w.rescans <- r:
	default:
	}
}

// locate finds the root holding path (the deepest, if roots nest).
func (w *watcher) locate(path string) (Root, string, bool) { return locate(w.roots, path) }

// locate finds the root of roots holding path (the deepest, if roots nest)
// and the slash-separated path inside it.
func locate(roots []Root, path string) (Root, string, bool) {
	var best Root
	found := false
	for _, r := range roots {
		if (path == r.Path || strings.HasPrefix(path, r.Path+string(filepath.Separator))) &&
			(!found || len(r.Path) > len(best.Path)) {
			best, found = r, true
		}
	}
	if !found {
		return Root{}, "", false
	}
	return best, relSlash(best, path), true
}

// snapshot returns the health of every root.
func (w *watcher) snapshot() []RootHealth {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]RootHealth, 0, len(w.roots))
	for _, r := range w.roots {
		out = append(out, *w.health[r.Name])
	}
	return out
}

func relSlash(r Root, path string) string {
	rel, err := filepath.Rel(r.Path, path)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel)
}

// ignoredPath reports whether any element of a slash-separated path is a
// hidden or temporary name.
func ignoredPath(rel string) bool {
	for _, el := range strings.Split(rel, "/") {
		if el != "" && media.Ignored(el) {
			return true
		}
	}
	return false
}
