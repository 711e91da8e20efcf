package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
	"github.com/rs/zerolog"
)

// job is one file to upload.
type job struct {
	file journal.File
	root Root
	abs  string
	key  string
}

// scanner compares folders with the journal and decides what to upload.
type scanner struct {
	journal  *journal.Journal
	filter   *media.Filter
	keys     KeyTemplate
	log      zerolog.Logger
	uploader *uploader.Uploader // aborts the uploads of files found gone; may be nil

	mu      sync.Mutex
	skipped map[string]skipped // root + "/" + rel: the reason last logged
	scans   map[string]int     // root name → scans begun
}

// skipped is a file or folder not backed up: why, and in which scan of its
// root it was last met.
type skipped struct {
	reason string
	scan   int
}

// Why a file is not backed up, as the debug log says.
const (
	skipIgnored     = "hidden or temporary name"
	skipNotMedia    = "not media"
	skipEmpty       = "empty"
	skipNotIncluded = "not included by media.include"
)

// skip logs at debug, once until the reason changes, that a file or folder
// of root is not backed up and why.
func (s *scanner) skip(root Root, rel, reason string) {
	k := root.Name + "/" + rel
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skipped == nil {
		s.skipped = make(map[string]skipped)
	}
	last, ok := s.skipped[k]
	s.skipped[k] = skipped{reason: reason, scan: s.scans[root.Name]}
	if ok && last.reason == reason {
		return
	}
	logSkip(s.log, root, rel, reason)
}

// beginScan counts a new scan of root and returns its number.
func (s *scanner) beginScan(root Root) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scans == nil {
		s.scans = make(map[string]int)
	}
	s.scans[root.Name]++
	return s.scans[root.Name]
}

// forgetSkips drops the logged skips of root's files that scan number n no
// longer met, so that the map does not grow with files long gone.
func (s *scanner) forgetSkips(root Root, n int) {
	prefix := root.Name + "/"
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.skipped {
		if v.scan < n && strings.HasPrefix(k, prefix) {
			delete(s.skipped, k)
		}
	}
}

// scanStats counts what a scan met.
type scanStats struct {
	Media     int // media files found
	Unchanged int // of those, already backed up
}

// trackBatch is how many new or changed files a scan records in the
// journal at once.
const trackBatch = 64

// scanRoot walks root and calls want for every media file that is new or
// changed since the journal saw it, in batches of trackBatch files. Rows of
// files that are gone are marked deleted. Unreadable files and folders go
// to onErr. Unchanged files are compared by size, mtime and inode against
// one snapshot of the journal: no file is opened and no query is made per
// file.
func (s *scanner) scanRoot(ctx context.Context, root Root, want func(job), onErr func(string, error)) (scanStats, error) {
	var st scanStats
	if _, err := os.Stat(root.Path); err != nil {
		return st, fmt.Errorf("cannot read folder %s: %w", root.Name, err)
	}
	n := s.beginScan(root)
	known, err := s.journal.Snapshot(ctx, root.Name)
	if err != nil {
		return st, err
	}
	defer known.Close()
	var batch []Found
	track := func() {
		s.trackAll(ctx, root, batch, want, onErr, &st)
		batch = batch[:0]
	}
	err = walk(root, func(f Found) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e, ok := known.Visit(f.Rel); ok && (e.State == journal.Done || e.State == journal.Skipped) && e.Identity.Equal(journal.IdentityOf(f.Info)) {
			st.Media++
			st.Unchanged++
			return nil
		}
		ok, err := s.wanted(f)
		switch {
		case err != nil:
			onErr(f.Abs, err)
		case ok:
			if batch = append(batch, f); len(batch) == trackBatch {
				track()
			}
		}
		return nil
	}, func(rel, reason string) {
		known.Visit(rel) // a row of that very path is not gone
		s.skip(root, rel, reason)
	}, onErr)
	if err != nil {
		return st, err
	}
	track()
	s.forgetSkips(root, n)
	gone, err := known.Gone()
	if err != nil {
		return st, err
	}
	if len(gone) > 0 {
		_, err = s.journal.MarkGoneIDs(ctx, root.Name, gone)
	}
	if err == nil {
		abortDeleted(ctx, s.uploader, s.log)
	}
	return st, err
}

// trackAll records files, media of root, in the journal in one
// transaction, calls want for those to upload and counts them in st. When
// the journal fails, each file goes to onErr.
func (s *scanner) trackAll(ctx context.Context, root Root, files []Found, want func(job), onErr func(string, error), st *scanStats) {
	if len(files) == 0 {
		return
	}
	seen := make([]journal.Seen, len(files))
	for i, f := range files {
		seen[i] = journal.Seen{Path: f.Rel, Identity: journal.IdentityOf(f.Info)}
	}
	rows, need, err := s.journal.TrackAll(ctx, root.Name, seen)
	if err != nil && ctx.Err() != nil {
		return // the scan was stopped: the next one tracks them
	}
	if err != nil {
		for _, f := range files {
			onErr(f.Abs, err)
		}
		return
	}
	st.Media += len(rows)
	for i, row := range rows {
		if need[i] {
			want(s.job(row, root))
		} else {
			st.Unchanged++
		}
	}
}

// abortDeleted aborts the multipart uploads of files marked deleted, so
// that a file gone after a crash leaves no incomplete upload behind. A
// failure is said and left for the next call.
func abortDeleted(ctx context.Context, up *uploader.Uploader, log zerolog.Logger) {
	if up == nil {
		return
	}
	if _, err := up.AbortDeleted(ctx); err != nil && ctx.Err() == nil {
		log.Warn().Str("error", storage.Short(err)).Msg("could not abort the upload of a file that is gone; trying again later")
	}
}

// consider decides whether a file is media to upload, and records it in
// the journal when it is.
func (s *scanner) consider(ctx context.Context, f Found) (job, bool, error) {
	ok, err := s.wanted(f)
	if err != nil || !ok {
		return job{}, false, err
	}
	row, need, err := s.journal.Track(ctx, f.Root.Name, f.Rel, journal.IdentityOf(f.Info))
	if err != nil || !need {
		return job{}, false, err
	}
	return s.job(row, f.Root), true, nil
}

// job returns the upload of row, a file of root.
func (s *scanner) job(row journal.File, root Root) job {
	return job{file: row, root: root, abs: filepath.Join(root.Path, filepath.FromSlash(row.Path)), key: cmp.Or(row.Key, s.keys.PathKey(root.Name, row.Path))}
}

// wanted reports whether the filter wants f, and logs why when it does not.
func (s *scanner) wanted(f Found) (bool, error) {
	v, rule := s.filter.Globs(f.Rel)
	switch {
	case v == media.Excluded:
		s.skip(f.Root, f.Rel, media.ExcludedBy(rule))
		return false, nil
	case v == media.NotIncluded:
		s.skip(f.Root, f.Rel, skipNotIncluded)
		return false, nil
	case f.Info != nil && f.Info.Size() == 0:
		// Nothing to keep: an emptied photo must not replace its backup.
		s.skip(f.Root, f.Rel, skipEmpty)
		return false, nil
	case v == media.Included:
		return true, nil
	}
	ok, err := s.isMedia(f)
	if err == nil && !ok {
		s.skip(f.Root, f.Rel, skipNotMedia)
	}
	return ok, err
}

func (s *scanner) isMedia(f Found) (bool, error) {
	fh, err := os.Open(f.Abs)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read: %w", err)
	}
	defer fh.Close()
	_, ok := s.filter.Classify(f.Rel, fh)
	return ok, nil
}
