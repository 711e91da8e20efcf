package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Thumbnails are made once per content: the thumbs table holds, by the
// SHA-256 of the original, the key the thumbnail was stored under.

// Thumb returns the key of the thumbnail stored for the content sha256,
// or ErrNotFound when none was recorded.
func (j *Journal) Thumb(ctx context.Context, sha256 string) (string, error) {
	var key string
	err := j.db.QueryRowContext(ctx, `SELECT key FROM thumbs WHERE sha256 = ?`, sha256).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read thumbnail of %s: %w", sha256, err)
	}
	return key, nil
}

// AddThumb records that the thumbnail of the content sha256 is stored
// under key.
func (j *Journal) AddThumb(ctx context.Context, sha256, key string) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO thumbs (sha256, key, made_ns) VALUES (?, ?, ?)
		ON CONFLICT (sha256) DO UPDATE SET key = excluded.key, made_ns = excluded.made_ns`,
		sha256, key, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("record thumbnail of %s: %w", sha256, err)
	}
	return nil
}
