package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

const fileColumns = `id, root, path, size, mtime_ns, inode, sha256, state, object_key, etag,
	attempts, last_error, updated_ns, uploaded_ns`

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var f File
	var mtime, updated, uploaded int64
	err := row.Scan(&f.ID, &f.Root, &f.Path, &f.Size, &mtime, &f.Inode, &f.SHA256, &f.State,
		&f.Key, &f.ETag, &f.Attempts, &f.LastError, &updated, &uploaded)
	f.MTime, f.UpdatedAt, f.UploadedAt = sqlitedb.Time(mtime), sqlitedb.Time(updated), sqlitedb.Time(uploaded)
	return f, err
}

// Lookup returns the row of root/path, or ErrNotFound.
func (j *Journal) Lookup(ctx context.Context, root, path string) (File, error) {
	f, err := scanFile(j.stmt.lookup.QueryRowContext(ctx, root, path))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("look up %s/%s: %w", root, path, err)
	}
	return f, nil
}

// Get returns the row with the given id, or ErrNotFound.
func (j *Journal) Get(ctx context.Context, id int64) (File, error) {
	f, err := scanFile(j.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("get file %d: %w", id, err)
	}
	return f, nil
}

// Track records that root/path exists with identity id. It returns the row
// and whether the file needs uploading: true unless a done row has the same
// identity. A changed or deleted file goes back to pending. Concurrent calls
// for the same new file all succeed and return the same row.
func (j *Journal) Track(ctx context.Context, root, path string, id Identity) (File, bool, error) {
	// A row that needs no change is only read, so a rescan writes nothing.
	f, err := j.Lookup(ctx, root, path)
	if err == nil && f.Identity.Equal(id) && f.State != Deleted && f.State != Freed {
		return f, f.State.needsUpload(), nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return File{}, false, err
	}
	err = j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		f, err = scanFile(tx.StmtContext(ctx, j.stmt.track).QueryRowContext(ctx, root, path, id.Size,
			sqlitedb.Nanos(id.MTime), id.Inode, Pending, time.Now().UnixNano()))
		if err != nil {
			return err
		}
		return backFromTrash(ctx, tx, f)
	})
	if err != nil {
		return File{}, false, fmt.Errorf("track %s/%s: %w", root, path, err)
	}
	return f, f.State.needsUpload(), nil
}

// backFromTrash forgets the freed record of f when the upsert of Track
// made it done: a freed file back unchanged holds its key again, and a
// later deletion of it is a deletion like any other.
func backFromTrash(ctx context.Context, tx *sql.Tx, f File) error {
	if f.State != Done {
		return nil
	}
	_, err := tx.ExecContext(ctx, forgetFreedSQL, f.ID)
	return err
}

// Skipped is the state of a file left out on purpose (media.since): not
// a failure, not tried again until the file or the setting changes. Its
// LastError says why.
const Skipped State = "skipped"

// needsUpload reports whether a file in state s waits for an upload: not
// stored, not skipped.
func (s State) needsUpload() bool { return s != Done && s != Skipped && s != Freed }

// Seen is a file of a root met on a scan.
type Seen struct {
	Path string
	Identity
}

// TrackAll is Track for many files of root, in one transaction: the rows
// in the order of files, and for each whether it needs uploading. Only
// the rows that change are written.
func (j *Journal) TrackAll(ctx context.Context, root string, files []Seen) ([]File, []bool, error) {
	rows := make([]File, len(files))
	need := make([]bool, len(files))
	err := j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		lookup, track := tx.StmtContext(ctx, j.stmt.lookup), tx.StmtContext(ctx, j.stmt.track)
		now := time.Now().UnixNano()
		for i, s := range files {
			f, err := scanFile(lookup.QueryRowContext(ctx, root, s.Path))
			if err != nil || !f.Identity.Equal(s.Identity) || f.State == Deleted || f.State == Freed {
				f, err = scanFile(track.QueryRowContext(ctx, root, s.Path, s.Size,
					sqlitedb.Nanos(s.MTime), s.Inode, Pending, now))
				if err == nil {
					err = backFromTrash(ctx, tx, f)
				}
			}
			if err != nil {
				return fmt.Errorf("track %s/%s: %w", root, s.Path, err)
			}
			rows[i], need[i] = f, f.State.needsUpload()
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return rows, need, nil
}

// trackSQL inserts a pending row, or updates the existing one in the same
// statement: a changed identity or a deleted row goes back to pending, any
// other row keeps its state. A freed file back at its path with the same
// identity (restored from the trash) is done again, with no upload; with
// another identity it is pending, and begins anew: its key holds the freed
// file's only copy, which only the same content may replace. It always
// returns the row.
//
// created_ns is when the file at the path began: a row revived after a
// delete, or whose new content is another tracked file moved over it
// (its identity: inode, size and mtime), begins anew, after its last
// upload. Its object then holds another file's backup, not an earlier
// version of this one (KeyHeld, OwnKey).
const trackSQL = `INSERT INTO files (root, path, size, mtime_ns, inode, state, created_ns, updated_ns)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
	ON CONFLICT (root, path) DO UPDATE SET
		state = CASE WHEN ` + trackChanged + ` THEN excluded.state
			WHEN files.state = '` + string(Freed) + `' THEN '` + string(Done) + `' ELSE files.state END,
		freed_ns = CASE WHEN files.state = '` + string(Freed) + `' THEN 0 ELSE files.freed_ns END,
		updated_ns = CASE WHEN ` + trackChanged + ` THEN excluded.updated_ns ELSE files.updated_ns END,
		created_ns = CASE WHEN ` + trackAnew + ` THEN max(excluded.created_ns, files.uploaded_ns + 1) ELSE files.created_ns END,
		size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode
	RETURNING ` + fileColumns

// trackAnew is true, in an upsert, when the file at the path is another
// one than the row's: recreated after a delete or a free-up, or moved over
// it from another tracked path.
const trackAnew = `(files.state = '` + string(Deleted) + `'
	OR (files.state = '` + string(Freed) + `' AND ` + trackChanged + `) OR (excluded.inode != 0 AND excluded.inode != files.inode
	AND EXISTS (SELECT 1 FROM files o WHERE o.inode = excluded.inode AND o.size = excluded.size
		AND o.mtime_ns = excluded.mtime_ns AND o.id != files.id)))`

// trackChanged is true, in an upsert, when the row must go back to pending.
const trackChanged = `(files.size != excluded.size OR files.mtime_ns != excluded.mtime_ns
	OR files.inode != excluded.inode OR files.state = '` + string(Deleted) + `')`

// Stored is what a finished upload records.
type Stored struct {
	Identity
	Key, ETag, SHA256 string
	// Capture is when the photo or video was taken, in the zone it was
	// taken in (zero: unknown), CaptureSource where that came from, and
	// Group the ID of the asset the file belongs to (media.GroupID).
	Capture       time.Time
	CaptureSource string
	Group         string
}

// captureText is t as the journal keeps it: RFC 3339 with the offset it
// was taken at; "" for the zero time.
func captureText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// MarkDone records that file id is stored, and forgets its multipart state,
// in one transaction. It returns once that is committed; calls made at the
// same time share the transaction.
func (j *Journal) MarkDone(ctx context.Context, id int64, s Stored) error {
	now := time.Now().UnixNano()
	return j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, j.stmt.markDone).ExecContext(ctx,
			s.Size, sqlitedb.Nanos(s.MTime), s.Inode, s.SHA256, Done, s.Key, s.ETag, now, now,
			captureText(s.Capture), s.CaptureSource, s.Group, id)
		if err != nil {
			return fmt.Errorf("mark file %d done: %w", id, err)
		}
		if _, err = tx.StmtContext(ctx, j.stmt.forgetUpload).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("mark file %d done: %w", id, err)
		}
		return nil
	})
}

const markDoneSQL = `UPDATE files SET size = ?, mtime_ns = ?, inode = ?, sha256 = ?, state = ?,
	object_key = ?, etag = ?, last_error = '', updated_ns = ?, uploaded_ns = max(?, created_ns),
	capture = ?, capture_source = ?, group_id = ? WHERE id = ?`

// MarkUploading records the start of an attempt.
func (j *Journal) MarkUploading(ctx context.Context, id int64) error {
	err := j.exec(ctx, j.stmt.markUploading, Uploading, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d uploading: %w", id, err)
	}
	return nil
}

// MarkFailed records why the last attempt failed.
func (j *Journal) MarkFailed(ctx context.Context, id int64, cause error) error {
	err := j.exec(ctx, j.stmt.markFailed, Failed, cause.Error(), time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d failed: %w", id, err)
	}
	return nil
}

// MarkSkipped records that file id is left out on purpose, and why (e.g.
// "captured 2019-05-01, before media.since 2024-01-01"). A change of the
// file makes it pending again (Track), and so does PendSkipped.
func (j *Journal) MarkSkipped(ctx context.Context, id int64, reason string) error {
	err := j.exec(ctx, j.stmt.markFailed, Skipped, reason, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d skipped: %w", id, err)
	}
	return nil
}

// MarkDeleted records that the local file is gone. The remote copy is kept,
// and so is the row's record of it. Its upload in flight stays journaled
// until aborted (DeletedUploads).
func (j *Journal) MarkDeleted(ctx context.Context, id int64) error {
	err := j.exec(ctx, j.stmt.markDelete, Deleted, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d deleted: %w", id, err)
	}
	return nil
}

// exec runs a prepared statement through the group commit.
func (j *Journal) exec(ctx context.Context, stmt *sql.Stmt, args ...any) error {
	return j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		return err
	})
}
