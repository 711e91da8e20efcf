package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// A file that `cloudkeep restore` writes is recorded so that the backup
// never sends its bytes again: in place (where its key is the object it
// came from) as a done row by MarkRestored, elsewhere as a restored record
// by AddRestored, which FindContent offers as the source of a server-side
// copy.

// MarkRestored records that root/path holds the content stored under
// s.Key: its row is done, whatever it was, and its upload in flight, if
// any, is forgotten. The backup then finds the file unchanged and sends
// nothing.
func (j *Journal) MarkRestored(ctx context.Context, root, path string, s Stored) error {
	now := time.Now().UnixNano()
	return j.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO files (root, path, size, mtime_ns, inode, sha256,
			state, object_key, etag, created_ns, updated_ns, uploaded_ns)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10)
			ON CONFLICT (root, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
				inode = excluded.inode, sha256 = excluded.sha256, state = excluded.state,
				object_key = excluded.object_key, etag = excluded.etag, last_error = '',
				updated_ns = excluded.updated_ns, uploaded_ns = excluded.uploaded_ns
			RETURNING id`,
			root, path, s.Size, sqlitedb.Nanos(s.MTime), s.Inode, s.SHA256, Done, s.Key, s.ETag, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("record restored %s/%s: %w", root, path, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE file_id = ?`, id)
		return err
	})
}

// Restored is a file restore wrote outside the place of the object it came
// from.
type Restored struct {
	Path string // absolute
	Identity
	SHA256 string
	Key    string // the object it came from
	ETag   string // the object's ETag when it was read
}

// AddRestored records r, replacing an earlier record of the same path.
func (j *Journal) AddRestored(ctx context.Context, r Restored) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO restored (path, size, mtime_ns, inode, sha256,
		source_key, etag, restored_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
			inode = excluded.inode, sha256 = excluded.sha256, source_key = excluded.source_key,
			etag = excluded.etag, restored_ns = excluded.restored_ns`,
		r.Path, r.Size, sqlitedb.Nanos(r.MTime), r.Inode, r.SHA256, r.Key, r.ETag, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("record restored %s: %w", r.Path, err)
	}
	return nil
}

// findContentSQL looks a content up by sha256 in files and in restored.
// "sha256 != ”" lets SQLite use the partial index files_sha256.
const findContentSQL = `SELECT key, etag FROM (
		SELECT 0 AS rank, object_key AS key, etag, updated_ns AS at FROM files
		WHERE sha256 = ?1 AND sha256 != '' AND size = ?2 AND state IN (?6, ?7, '` + string(Freed) + `')
		UNION ALL
		SELECT 1, source_key, etag, restored_ns FROM restored
		WHERE sha256 = ?1 AND size = ?2)
	WHERE key != ?3 AND key != '' AND substr(CAST(key AS BLOB), 1, ?4) = CAST(?5 AS BLOB)
	ORDER BY rank, at DESC LIMIT 1`

// Source is an object that holds a given content.
type Source struct {
	Key, ETag string
}

// FindContent returns an object, other than except and with a key that
// starts with prefix, that holds size bytes with the given SHA-256: a file
// stored earlier (done, or since deleted or freed locally: nothing remote
// is deleted), or the source of a restored file, in that order of preference.
// ErrNotFound when there is none. It is one prepared query on the sha256
// indexes.
func (j *Journal) FindContent(ctx context.Context, sha256 string, size int64, prefix, except string) (Source, error) {
	var s Source
	err := j.stmt.findContent.QueryRowContext(ctx,
		sha256, size, except, len(prefix), prefix, Done, Deleted).Scan(&s.Key, &s.ETag)
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, ErrNotFound
	}
	if err != nil {
		return Source{}, fmt.Errorf("find stored content: %w", err)
	}
	return s, nil
}
