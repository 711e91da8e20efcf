package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/media"
)

// Root is a watched folder: Name is its segment in object keys.
type Root struct {
	Name string
	Path string
}

// Found is a file met on a walk.
type Found struct {
	Root Root
	Rel  string // slash-separated path inside the root
	Abs  string
	Info fs.FileInfo // of the file itself, symbolic links followed
}

// walk calls fn for every regular file under root that is not hidden or
// temporary, following symbolic links but never into a folder twice (so a
// link loop ends). A hidden or temporary file or folder, and a folder that
// holds a marker file (.nomedia, .nobackup), is reported to ignored (when
// not nil) by its path inside root and why, and not entered. A folder or
// file that cannot be read is reported to onErr and skipped; one that
// vanished meanwhile is skipped quietly.
func walk(root Root, fn func(Found) error, ignored func(rel, reason string), onErr func(path string, err error)) error {
	return walkDirs(root, newDirSet(), fn, ignored, onErr)
}

// folderMarkers are the names (in any case) of the files that keep the
// folder holding them, and everything below it, out of the backup: Android
// apps put .nomedia in folders the gallery must not show; .nobackup is the
// user's own.
var folderMarkers = []string{".nomedia", ".nobackup"}

// isMarker reports whether name is a folder marker.
func isMarker(name string) bool {
	for _, m := range folderMarkers {
		if strings.EqualFold(name, m) {
			return true
		}
	}
	return false
}

// markerIn returns the name of the first folder marker among a folder's
// entries, "" when there is none. The entries are read anyway: it costs no
// system call.
func markerIn(entries []fs.DirEntry) string {
	for _, e := range entries {
		if isMarker(e.Name()) {
			return e.Name()
		}
	}
	return ""
}

// skipMarker begins the reason a folder holding a marker file is skipped.
const skipMarker = "holds "

// logSkip logs that a file or folder of root is not backed up and why: a
// folder that holds a marker file at info, anything else at debug.
func logSkip(log zerolog.Logger, root Root, rel, reason string) {
	if strings.HasPrefix(reason, skipMarker) {
		log.Info().Str("root", root.Name).Str("path", rel).Msg("folder skipped: " + reason)
		return
	}
	log.Debug().Str("root", root.Name).Str("path", rel).Str("reason", reason).Msg("skipped")
}

// dirSet is the folders a walk has entered.
type dirSet interface {
	// enter records the folder described by info (from os.Stat) and
	// reports whether the walk had not entered it before.
	enter(info fs.FileInfo) bool
}

// sameFileSet is a dirSet for systems whose fs.FileInfo carries no inode
// number (Windows): a folder is compared with every one entered before,
// by os.SameFile.
type sameFileSet []fs.FileInfo

func (s *sameFileSet) enter(info fs.FileInfo) bool {
	for _, d := range *s {
		if os.SameFile(d, info) {
			return false
		}
	}
	*s = append(*s, info)
	return true
}

// walkDirs is walk with the set of entered folders given.
func walkDirs(root Root, seen dirSet, fn func(Found) error, ignored func(rel, reason string), onErr func(path string, err error)) error {
	var visit func(abs, rel string) error
	visit = func(abs, rel string) error {
		info, err := os.Stat(abs)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				onErr(abs, err)
			}
			return nil
		}
		if info.Mode().IsRegular() {
			return fn(Found{Root: root, Rel: rel, Abs: abs, Info: info})
		}
		if !info.IsDir() {
			return nil // sockets, devices, pipes
		}
		if !seen.enter(info) {
			return nil
		}
		entries, err := os.ReadDir(abs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			onErr(abs, err)
		}
		if m := markerIn(entries); m != "" {
			if ignored != nil {
				ignored(rel, skipMarker+m)
			}
			return nil
		}
		for _, e := range entries {
			child := e.Name()
			if rel != "" {
				child = rel + "/" + child
			}
			if media.Ignored(e.Name()) {
				if ignored != nil {
					ignored(child, skipIgnored)
				}
				continue
			}
			if err := visit(filepath.Join(abs, e.Name()), child); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(root.Path, "")
}
