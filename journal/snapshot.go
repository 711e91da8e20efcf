package journal

import (
	"context"
	"fmt"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Entry is the part of a row a reconcile scan compares with the disk.
type Entry struct {
	ID    int64
	State State
	Identity
}

// snapshotChunk is how many rows a Snapshot reads at a time.
const snapshotChunk = 4096

// Snapshot is the rows of one root, not deleted, as a scan compares them
// with the disk: read in path order a chunk at a time, ahead of the scan
// and while it walks, as it visits the files in about that order. A root
// of millions of files so costs neither a query per file nor a map of
// every row. A row the scan went past without visiting it (its walk order
// differs from the byte order of paths, or the file is gone) is kept aside
// until it is visited or found gone. It is not safe for concurrent use;
// Close it.
type Snapshot struct {
	chunks chan []snapRow // read ahead; closed after the last one
	err    error          // why reading ended early, once chunks is closed
	cancel context.CancelFunc
	chunk  []snapRow
	pos    int
	passed map[string]Entry
}

type snapRow struct {
	path string
	Entry
}

// Snapshot returns the rows of root for a scan.
func (j *Journal) Snapshot(ctx context.Context, root string) (*Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Snapshot{chunks: make(chan []snapRow, 2), cancel: cancel, passed: map[string]Entry{}}
	go s.read(ctx, j, root)
	return s, nil
}

// Close stops reading the journal.
func (s *Snapshot) Close() {
	s.cancel()
	for range s.chunks { // let read end
	}
}

// read reads the rows of root into s.chunks, in path order.
func (s *Snapshot) read(ctx context.Context, j *Journal, root string) {
	defer close(s.chunks)
	after := ""
	for {
		chunk, err := j.snapshotChunk(ctx, root, after)
		if err != nil {
			s.err = fmt.Errorf("read journal of %s: %w", root, err)
			return
		}
		if len(chunk) == 0 {
			return
		}
		select {
		case s.chunks <- chunk:
		case <-ctx.Done():
			s.err = ctx.Err()
			return
		}
		if len(chunk) < snapshotChunk {
			return
		}
		after = chunk[len(chunk)-1].path
	}
}

// snapshotChunk returns up to snapshotChunk rows of root, not deleted,
// after the path after.
func (j *Journal) snapshotChunk(ctx context.Context, root, after string) ([]snapRow, error) {
	rows, err := j.stmt.snapshot.QueryContext(ctx, root, after, Deleted, snapshotChunk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	chunk := make([]snapRow, 0, snapshotChunk)
	for rows.Next() {
		var r snapRow
		var mtime int64
		if err := rows.Scan(&r.ID, &r.path, &r.State, &r.Size, &mtime, &r.Inode); err != nil {
			return nil, err
		}
		r.MTime = sqlitedb.Time(mtime)
		chunk = append(chunk, r)
	}
	return chunk, rows.Err()
}

// peek returns the next row in path order, if any, without taking it.
func (s *Snapshot) peek() (snapRow, bool) {
	if s.pos == len(s.chunk) {
		c, ok := <-s.chunks
		if !ok {
			return snapRow{}, false
		}
		s.chunk, s.pos = c, 0
	}
	return s.chunk[s.pos], true
}

// Visit returns the row of path, if any, and records that the scan met
// path.
func (s *Snapshot) Visit(path string) (Entry, bool) {
	if e, ok := s.passed[path]; ok {
		delete(s.passed, path)
		return e, true
	}
	for {
		r, ok := s.peek()
		if !ok || r.path > path {
			return Entry{}, false // not in the journal: the rows left come after path
		}
		s.pos++
		if r.path == path {
			return r.Entry, true
		}
		s.passed[r.path] = r.Entry
	}
}

// Gone returns the ids of the rows whose paths the scan did not visit.
// After an error reading the journal it returns that error, and no row.
func (s *Snapshot) Gone() ([]int64, error) {
	var ids []int64
	for _, e := range s.passed {
		ids = append(ids, e.ID)
	}
	for r, ok := s.peek(); ok; r, ok = s.peek() {
		s.pos++
		ids = append(ids, r.ID)
	}
	if s.err != nil {
		return nil, s.err
	}
	return ids, nil
}
