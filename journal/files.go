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
// identity. A changed file goes back to pending.
func (j *Journal) Track(ctx context.Context, root, path string, id Identity) (File, bool, error) {
	f, err := j.Lookup(ctx, root, path)
	switch {
	case errors.Is(err, ErrNotFound):
		now := time.Now().UnixNano()
		res, err := j.db.ExecContext(ctx, `INSERT INTO files
			(root, path, size, mtime_ns, inode, state, created_ns, updated_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			root, path, id.Size, sqlitedb.Nanos(id.MTime), id.Inode, Pending, now, now)
		if err != nil {
			return File{}, false, fmt.Errorf("track %s/%s: %w", root, path, err)
		}
		fid, _ := res.LastInsertId()
		return File{ID: fid, Root: root, Path: path, Identity: id, State: Pending}, true, nil
	case err != nil:
		return File{}, false, err
	}
	if f.State == Done && f.Identity.Equal(id) {
		return f, false, nil
	}
	if !f.Identity.Equal(id) || f.State == Deleted {
		_, err = j.db.ExecContext(ctx, `UPDATE files SET size = ?, mtime_ns = ?, inode = ?,
			state = ?, updated_ns = ? WHERE id = ?`,
			id.Size, sqlitedb.Nanos(id.MTime), id.Inode, Pending, time.Now().UnixNano(), f.ID)
		if err != nil {
			return File{}, false, fmt.Errorf("track %s/%s: %w", root, path, err)
		}
		f.Identity, f.State = id, Pending
	}
	return f, true, nil
}

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
// and so is the row's record of it.
func (j *Journal) MarkDeleted(ctx context.Context, id int64) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE files SET state = ?, updated_ns = ? WHERE id = ?`,
			Deleted, time.Now().UnixNano(), id)
		if err != nil {
			return fmt.Errorf("mark file %d deleted: %w", id, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE file_id = ?`, id)
		return err
	})
}
