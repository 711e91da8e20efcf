package restore

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// Root is a folder this device backs up.
type Root struct {
	Name, Path string
}

// Recorder writes what a restore brought back into this device's journal,
// so that the backup never sends those bytes again: a file restored at the
// place whose key is the object it came from is done as it is; one
// restored anywhere else is remembered with its content's SHA-256, and the
// backup stores it by a server-side copy of that object
// (journal.FindContent).
type Recorder struct {
	Journal *journal.Journal
	Roots   []Root
	// Key returns the key the backup gives the file at rel (slash-separated)
	// inside the root named root, taken at taken (agent.KeyTemplate.Key).
	Key func(root, rel string, taken time.Time) string
}

// Record is an Options.Record: path holds it, fi is the file.
func (r *Recorder) Record(ctx context.Context, it Item, path string, fi fs.FileInfo) error {
	if it.SHA256 == "" {
		return nil // nothing tells what it holds
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	id := journal.IdentityOf(fi)
	if root, rel, ok := r.place(abs); ok && r.Key(root, rel, it.Capture) == it.Key {
		return r.Journal.MarkRestored(ctx, root, rel, journal.Stored{Identity: id, Key: it.Key, ETag: it.ETag, SHA256: it.SHA256})
	}
	return r.Journal.AddRestored(ctx, journal.Restored{Path: abs, Identity: id, SHA256: it.SHA256, Key: it.Key, ETag: it.ETag})
}

// place returns the root that holds abs, an absolute path, and the path
// inside it.
func (r *Recorder) place(abs string) (string, string, bool) {
	for _, root := range r.Roots {
		top, err := filepath.Abs(root.Path)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(top, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		return root.Name, filepath.ToSlash(rel), true
	}
	return "", "", false
}
