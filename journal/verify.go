package journal

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Row is a file's row as verify compares it with the storage and the
// disk: the File and, for a freed one, when free-up moved it to the trash.
type Row struct {
	File
	FreedAt time.Time
}

// Rows calls fn with every row of the journal, in id order, read a chunk
// at a time so that a long fn holds no read transaction open for long.
func (j *Journal) Rows(ctx context.Context, fn func(Row) error) error {
	const chunk = 4096
	var after int64
	for {
		rows, err := j.rowsAfter(ctx, after, chunk)
		if err != nil {
			return fmt.Errorf("read the journal: %w", err)
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) < chunk {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

func (j *Journal) rowsAfter(ctx context.Context, after int64, limit int) ([]Row, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+fileColumns+`, freed_ns FROM files
		WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var mtime, updated, uploaded, freed int64
		err := rows.Scan(&r.ID, &r.Root, &r.Path, &r.Size, &mtime, &r.Inode, &r.SHA256, &r.State,
			&r.Key, &r.ETag, &r.Attempts, &r.LastError, &updated, &uploaded, &freed)
		if err != nil {
			return nil, err
		}
		r.MTime, r.UpdatedAt, r.UploadedAt = sqlitedb.Time(mtime), sqlitedb.Time(updated), sqlitedb.Time(uploaded)
		r.FreedAt = sqlitedb.Time(freed)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Repend makes the rows with the given ids pending again, so that they are
// uploaded anew (verify --repair), and returns how many it changed. Freed
// and deleted rows are left as they are: their files are not on the disk.
// The rows newKey names also lose their object key: it holds another
// device's file now, so the upload places them anew and never replaces
// that object.
func (j *Journal) Repend(ctx context.Context, ids []int64, newKey map[int64]bool) (int, error) {
	var n int
	err := j.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE files SET state = ?1, updated_ns = ?2,
			object_key = CASE WHEN ?5 THEN '' ELSE object_key END, etag = CASE WHEN ?5 THEN '' ELSE etag END
			WHERE id = ?3 AND state NOT IN (?4, ?6)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := time.Now().UnixNano()
		for _, id := range ids {
			res, err := stmt.ExecContext(ctx, Pending, now, id, Freed, newKey[id], Deleted)
			if err != nil {
				return err
			}
			c, _ := res.RowsAffected()
			n += int(c)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue files again: %w", err)
	}
	return n, nil
}
