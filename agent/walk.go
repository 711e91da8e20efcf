package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

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
// link loop ends). A hidden or temporary file or folder is reported to
// ignored (when not nil) by its path inside root, and not entered. A folder
// or file that cannot be read is reported to onErr and skipped; one that
// vanished meanwhile is skipped quietly.
func walk(root Root, fn func(Found) error, ignored func(rel string), onErr func(path string, err error)) error {
	return walkDirs(root, newDirSet(), fn, ignored, onErr)
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
func walkDirs(root Root, seen dirSet, fn func(Found) error, ignored func(rel string), onErr func(path string, err error)) error {
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
		for _, e := range entries {
			child := e.Name()
			if rel != "" {
				child = rel + "/" + child
			}
			if media.Ignored(e.Name()) {
				if ignored != nil {
					ignored(child)
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
