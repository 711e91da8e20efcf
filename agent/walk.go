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
// link loop ends). A folder or file that cannot be read is reported to
// onErr and skipped; one that vanished meanwhile is skipped quietly.
func walk(root Root, fn func(Found) error, onErr func(path string, err error)) error {
	seen := map[fileKey]bool{}
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
		if k, ok := keyOf(info); ok {
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		entries, err := os.ReadDir(abs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			onErr(abs, err)
		}
		for _, e := range entries {
			if media.Ignored(e.Name()) {
				continue
			}
			child := e.Name()
			if rel != "" {
				child = rel + "/" + child
			}
			if err := visit(filepath.Join(abs, e.Name()), child); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(root.Path, "")
}
