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
	f, err := scanFile(j.db.QueryRowContext(ctx,
		`SELECT `+fileColumns+` FROM files WHERE root = ? AND path = ?`, root, path))
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
	if err == nil && f.Identity.Equal(id) && f.State != Deleted {
		return f, f.State != Done, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return File{}, false, err
	}
	f, err = scanFile(j.db.QueryRowContext(ctx, trackSQL, root, path, id.Size,
		sqlitedb.Nanos(id.MTime), id.Inode, Pending, time.Now().UnixNano()))
	if err != nil {
		return File{}, false, fmt.Errorf("track %s/%s: %w", root, path, err)
	}
	return f, f.State != Done, nil
}

// trackSQL inserts a pending row, or updates the existing one in the same
// statement: a changed identity or a deleted row goes back to pending, any
// other row keeps its state. It always returns the row.
const trackSQL = `INSERT INTO files (root, path, size, mtime_ns, inode, state, created_ns, updated_ns)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
	ON CONFLICT (root, path) DO UPDATE SET
		state = CASE WHEN ` + trackChanged + ` THEN excluded.state ELSE files.state END,
		updated_ns = CASE WHEN ` + trackChanged + ` THEN excluded.updated_ns ELSE files.updated_ns END,
		size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode
	RETURNING ` + fileColumns

// trackChanged is true, in an upsert, when the row must go back to pending.
const trackChanged = `(files.size != excluded.size OR files.mtime_ns != excluded.mtime_ns
	OR files.inode != excluded.inode OR files.state = '` + string(Deleted) + `')`

// Stored is what a finished upload records.
type Stored struct {
	Identity
	Key, ETag, SHA256 string
}

// MarkDone records that file id is stored, and forgets its multipart state,
// in one transaction.
func (j *Journal) MarkDone(ctx context.Context, id int64, s Stored) error {
	now := time.Now().UnixNano()
	return j.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE files SET size = ?, mtime_ns = ?, inode = ?,
			sha256 = ?, state = ?, object_key = ?, etag = ?, last_error = '', updated_ns = ?,
			uploaded_ns = ? WHERE id = ?`,
			s.Size, sqlitedb.Nanos(s.MTime), s.Inode, s.SHA256, Done, s.Key, s.ETag, now, now, id)
		if err != nil {
			return fmt.Errorf("mark file %d done: %w", id, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE file_id = ?`, id)
		return err
	})
}

// MarkUploading records the start of an attempt.
func (j *Journal) MarkUploading(ctx context.Context, id int64) error {
	_, err := j.db.ExecContext(ctx, `UPDATE files SET state = ?, attempts = attempts + 1,
		updated_ns = ? WHERE id = ?`, Uploading, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d uploading: %w", id, err)
	}
	return nil
}

// MarkFailed records why the last attempt failed.
func (j *Journal) MarkFailed(ctx context.Context, id int64, cause error) error {
	_, err := j.db.ExecContext(ctx, `UPDATE files SET state = ?, last_error = ?, updated_ns = ?
		WHERE id = ?`, Failed, cause.Error(), time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d failed: %w", id, err)
	}
	return nil
}

// MarkDeleted records that the local file is gone. The remote copy is kept,
// and so is the row's record of it. Its upload in flight stays journaled
// until aborted (DeletedUploads).
func (j *Journal) MarkDeleted(ctx context.Context, id int64) error {
	_, err := j.db.ExecContext(ctx, `UPDATE files SET state = ?, updated_ns = ? WHERE id = ?`,
		Deleted, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark file %d deleted: %w", id, err)
	}
	return nil
}
