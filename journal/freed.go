package journal

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Local is a row free-up weighs: a file the journal expects on the disk
// (any state but deleted and freed), with when it was taken.
type Local struct {
	File
	// Capture is when the photo or video was taken (zero: unknown).
	Capture time.Time
}

// Locals returns the rows of root that are not deleted or freed, in path
// order: the files free-up may free, and the partners it must weigh with
// them.
func (j *Journal) Locals(ctx context.Context, root string) ([]Local, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+fileColumns+`, capture FROM files
		WHERE root = ? AND state NOT IN (?, ?) ORDER BY path`, root, Deleted, Freed)
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", root, err)
	}
	defer rows.Close()
	var out []Local
	for rows.Next() {
		var l Local
		var mtime, updated, uploaded int64
		var capture string
		err := rows.Scan(&l.ID, &l.Root, &l.Path, &l.Size, &mtime, &l.Inode, &l.SHA256, &l.State,
			&l.Key, &l.ETag, &l.Attempts, &l.LastError, &updated, &uploaded, &capture)
		if err != nil {
			return nil, fmt.Errorf("list files of %s: %w", root, err)
		}
		l.MTime, l.UpdatedAt, l.UploadedAt = sqlitedb.Time(mtime), sqlitedb.Time(updated), sqlitedb.Time(uploaded)
		if capture != "" {
			l.Capture, _ = time.Parse(time.RFC3339, capture)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// MarkFreed records that file id, stored with content sha256 and found
// with identity id, is about to leave the disk for the trash. It changes
// the row only while it still says so: done with that identity and hash
// (or already freed, or marked deleted by an agent that saw the file
// leave first), and reports whether it did. Marking before the move lets
// a running agent's watcher find the row freed when the file goes.
func (j *Journal) MarkFreed(ctx context.Context, id int64, ident Identity, sha256 string) (bool, error) {
	var n int64
	now := time.Now().UnixNano()
	err := j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files SET state = ?, freed_ns = ?, updated_ns = ?
			WHERE id = ? AND state IN (?, ?, ?) AND size = ? AND mtime_ns = ? AND inode = ? AND sha256 = ?`,
			Freed, now, now, id, Done, Freed, Deleted, ident.Size, sqlitedb.Nanos(ident.MTime), ident.Inode, sha256)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n != 1 {
			return nil
		}
		_, err = tx.ExecContext(ctx, recordFreedSQL, now, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark file %d freed: %w", id, err)
	}
	return n == 1, nil
}

// recordFreedSQL keeps the backup of a freed file in the freed table, by
// its key: the row may later be taken by another file at the same path
// (a camera that numbers from IMG_0001 again), and the freed file, in the
// trash or gone with it, has no other copy than that object. Its key
// stays live on the device (SyncLiveKeys) until the file is back.
const recordFreedSQL = `INSERT INTO freed (key, file_id, size, sha256, uploaded_ns, freed_ns)
	SELECT object_key, id, size, sha256, uploaded_ns, ?1 FROM files WHERE id = ?2 AND object_key != ''
	ON CONFLICT (key) DO UPDATE SET file_id = excluded.file_id, size = excluded.size,
		sha256 = excluded.sha256, uploaded_ns = excluded.uploaded_ns, freed_ns = excluded.freed_ns`

// forgetFreedSQL drops the freed record of file ?1 once its row holds
// the key again as done: the file was not moved, or is back.
const forgetFreedSQL = `DELETE FROM freed WHERE file_id = ?1
	AND key = (SELECT object_key FROM files WHERE id = ?1 AND state = '` + string(Done) + `')`

// Unfree undoes MarkFreed when the file could not be moved and is still
// at its path as it was: the row is done again. A caller must not undo
// when the file left anyway (another free-up moved it): the row then
// stays freed, its key live.
func (j *Journal) Unfree(ctx context.Context, id int64) error {
	err := j.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE files SET state = ?, freed_ns = 0, updated_ns = ?
			WHERE id = ? AND state = ?`, Done, time.Now().UnixNano(), id, Freed); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, forgetFreedSQL, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark file %d done again: %w", id, err)
	}
	return nil
}

// FreedAt returns when file id was freed; zero when it is not.
func (j *Journal) FreedAt(ctx context.Context, id int64) (time.Time, error) {
	var ns int64
	err := j.db.QueryRowContext(ctx, `SELECT CASE WHEN state = ? THEN freed_ns ELSE 0 END FROM files WHERE id = ?`, Freed, id).Scan(&ns)
	if err != nil {
		return time.Time{}, fmt.Errorf("look up file %d: %w", id, err)
	}
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns), nil
}
