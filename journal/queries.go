package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Unfinished returns the rows still to upload: those with a multipart
// upload in flight first, then the rest, oldest first.
func (j *Journal) Unfinished(ctx context.Context) ([]File, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files f
		WHERE state IN (?, ?, ?)
		ORDER BY EXISTS (SELECT 1 FROM uploads u WHERE u.file_id = f.id) DESC, updated_ns`,
		Pending, Uploading, Failed)
	if err != nil {
		return nil, fmt.Errorf("list unfinished files: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MarkGone marks the rows of root at the given paths deleted, in one
// transaction, and returns how many were changed. Their uploads in flight
// stay journaled until aborted (DeletedUploads). A freed row stays freed:
// free-up moved its file away, its absence is no deletion.
func (j *Journal) MarkGone(ctx context.Context, root string, paths []string) (int, error) {
	n, err := j.markGone(ctx, `UPDATE files SET state = ?, updated_ns = ?
		WHERE root = ? AND path = ? AND state != ? AND state != '`+string(Freed)+`'`, root, len(paths), func(i int) any { return paths[i] })
	if err != nil {
		return 0, fmt.Errorf("mark files of %s deleted: %w", root, err)
	}
	return n, nil
}

// MarkGoneIDs is MarkGone for rows of root given by id (Snapshot.Gone).
func (j *Journal) MarkGoneIDs(ctx context.Context, root string, ids []int64) (int, error) {
	n, err := j.markGone(ctx, `UPDATE files SET state = ?, updated_ns = ?
		WHERE root = ? AND id = ? AND state != ? AND state != '`+string(Freed)+`'`, root, len(ids), func(i int) any { return ids[i] })
	if err != nil {
		return 0, fmt.Errorf("mark files of %s deleted: %w", root, err)
	}
	return n, nil
}

// markGone runs query, which marks the row of root with key(i) deleted,
// for each i < n, in one transaction, and returns how many rows it changed.
func (j *Journal) markGone(ctx context.Context, query, root string, n int, key func(int) any) (int, error) {
	changed := 0
	err := j.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := time.Now().UnixNano()
		for i := range n {
			res, err := stmt.ExecContext(ctx, Deleted, now, root, key(i), Deleted)
			if err != nil {
				return err
			}
			c, _ := res.RowsAffected()
			changed += int(c)
		}
		return nil
	})
	return changed, err
}

// Totals is how many files and bytes are in each state.
type Totals map[State]Count

// Count is a number of files and their size in bytes.
type Count struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Totals counts files and bytes by state.
func (j *Journal) Totals(ctx context.Context) (Totals, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT state, count(*), coalesce(sum(size), 0) FROM files GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count files: %w", err)
	}
	defer rows.Close()
	t := Totals{}
	for rows.Next() {
		var s State
		var v Count
		if err := rows.Scan(&s, &v.Files, &v.Bytes); err != nil {
			return nil, err
		}
		t[s] = v
	}
	return t, rows.Err()
}

// MarkGoneUnder marks deleted every row of root inside the folder dir (a
// slash-separated path inside the root; "" is the root itself, all its
// rows) but the freed ones, and returns how many it changed. Paths are compared as bytes, as
// they are on disk. Their uploads in flight stay journaled until aborted
// (DeletedUploads).
func (j *Journal) MarkGoneUnder(ctx context.Context, root, dir string) (int, error) {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var n int64
	err := j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files SET state = ?, updated_ns = ?
			WHERE root = ? AND substr(CAST(path AS BLOB), 1, ?) = CAST(? AS BLOB) AND state NOT IN (?, ?)`,
			Deleted, time.Now().UnixNano(), root, len(prefix), prefix, Deleted, Freed)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark files under %s/%s deleted: %w", root, dir, err)
	}
	return int(n), nil
}

// KeyHeld reports whether a file other than the one with id except holds
// the object key (stored there, done or deleted since, or an upload to it
// in flight) with content other than sha256: storing another content
// there would replace that file's backup. The file except itself counts as
// another when it began anew since it stored there (recreated after a
// delete, or another tracked file moved over it: see trackSQL).
func (j *Journal) KeyHeld(ctx context.Context, key, sha256 string, except int64) (bool, error) {
	var held bool
	err := j.stmt.keyHeld.QueryRowContext(ctx, key, except, sha256).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("look up key %s: %w", key, err)
	}
	return held, nil
}

// "+sha256" keeps SQLite from weighing the partial index files_sha256
// against the bound hash: that would prepare the statement again for every
// hash it is given.
const keyHeldSQL = `SELECT EXISTS (SELECT 1 FROM files WHERE object_key = ?1 AND +sha256 != ?3
		AND (id != ?2 OR uploaded_ns < created_ns))
	OR EXISTS (SELECT 1 FROM uploads WHERE object_key = ?1 AND file_id != ?2 AND sha256 != ?3)`

// OwnKey returns the object key that holds the earlier content of file
// id, which a change of the file replaces: the key the row holds, unless
// the file at its path began anew since it was stored there (see
// trackSQL); "" then, and when it was never stored.
func (j *Journal) OwnKey(ctx context.Context, id int64) (string, error) {
	var key string
	err := j.stmt.ownKey.QueryRowContext(ctx, id).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the key of file %d: %w", id, err)
	}
	return key, nil
}

// PendSkipped makes every skipped row whose reason does not end with
// keep pending again, so that it is looked at anew (media.since changed;
// keep "" takes them all), and returns how many it changed.
func (j *Journal) PendSkipped(ctx context.Context, keep string) (int, error) {
	var n int64
	err := j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files SET state = ?, updated_ns = ?
			WHERE state = ? AND (?4 = '' OR substr(last_error, -length(?4)) != ?4)`,
			Pending, time.Now().UnixNano(), Skipped, keep)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("look again at skipped files: %w", err)
	}
	return int(n), nil
}

// LastUploaded returns when a file was last stored (uploaded or copied);
// zero when none ever was.
func (j *Journal) LastUploaded(ctx context.Context) (time.Time, error) {
	var ns int64
	if err := j.db.QueryRowContext(ctx, `SELECT coalesce(max(uploaded_ns), 0) FROM files`).Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("last upload: %w", err)
	}
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns), nil
}
