package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Thumbnails are made once per content: the thumbs table holds, by the
// SHA-256 of the original, the key the thumbnail was stored under, or why
// none could be made (then the key is empty). A stored file whose content
// has no row is waiting for its thumbnail (MissingThumbs).

// Thumb is the thumbnail recorded for one content.
type Thumb struct {
	Key   string // where it is stored; "" when none could be made
	Error string // why none could be made; "" when stored
}

// Thumb returns the thumbnail recorded for the content sha256, or
// ErrNotFound when none was.
func (j *Journal) Thumb(ctx context.Context, sha256 string) (Thumb, error) {
	var t Thumb
	err := j.db.QueryRowContext(ctx, `SELECT key, error FROM thumbs WHERE sha256 = ?`, sha256).Scan(&t.Key, &t.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return Thumb{}, ErrNotFound
	}
	if err != nil {
		return Thumb{}, fmt.Errorf("read thumbnail of %s: %w", sha256, err)
	}
	return t, nil
}

// AddThumb records that the thumbnail of the content sha256 is stored
// under key.
func (j *Journal) AddThumb(ctx context.Context, sha256, key string) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO thumbs (sha256, key, error, made_ns) VALUES (?, ?, '', ?)
		ON CONFLICT (sha256) DO UPDATE SET key = excluded.key, error = '', made_ns = excluded.made_ns`,
		sha256, key, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("record thumbnail of %s: %w", sha256, err)
	}
	return nil
}

// ThumbFailed records that no thumbnail can be made of the content
// sha256, and why; a thumbnail stored before is kept.
func (j *Journal) ThumbFailed(ctx context.Context, sha256, cause string) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO thumbs (sha256, key, error, made_ns) VALUES (?, '', ?, ?)
		ON CONFLICT (sha256) DO UPDATE SET error = excluded.error, made_ns = excluded.made_ns WHERE thumbs.key = ''`,
		sha256, cause, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("record thumbnail failure of %s: %w", sha256, err)
	}
	return nil
}

// MissingThumbs returns up to limit stored files (state done) with an ID
// above after whose content has no thumbnail row, by ID: read page after
// page (after = the last ID of the page before) until it returns none.
// Every kind of file is returned: the caller picks the photos.
func (j *Journal) MissingThumbs(ctx context.Context, after int64, limit int) ([]File, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files f
		WHERE f.id > ? AND f.state = ? AND f.sha256 != ''
		AND NOT EXISTS (SELECT 1 FROM thumbs t WHERE t.sha256 = f.sha256)
		ORDER BY f.id LIMIT ?`, after, Done, limit)
	if err != nil {
		return nil, fmt.Errorf("list files without a thumbnail: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("list files without a thumbnail: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
