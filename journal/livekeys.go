package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The live_keys table is the device's keys over time, for its manifest in
// the bucket: a row per key and span it was live, to_ns 0 while it is.

// heldKeys selects the keys files hold now: stored (done), freed, and
// those of files changed since, whose key still holds the content stored
// before; and the keys of freed files whose row another file took since
// (the freed table). A deleted file's key is not held: its object stays
// in the bucket, no longer part of the device's state.
const heldKeys = `SELECT object_key, MAX(size) AS size, MAX(sha256) AS sha256, MAX(uploaded_ns) AS uploaded_ns
	FROM (SELECT object_key, size, sha256, uploaded_ns FROM files WHERE object_key != '' AND state NOT IN ('deleted', 'skipped')
		UNION ALL SELECT key, size, sha256, uploaded_ns FROM freed) GROUP BY object_key`

// SyncLiveKeys brings live_keys up to date with the files at now: a key no
// file holds any more is closed (to_ns = now), a new one opens a span (from
// the time it was uploaded, when it has no span yet), a held key's size
// and SHA-256 follow its file. changed reports whether anything did.
func (j *Journal) SyncLiveKeys(ctx context.Context, now time.Time) (changed bool, err error) {
	n := now.UnixNano()
	err = j.tx(ctx, func(tx *sql.Tx) error {
		var total int64
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE live_keys SET to_ns = ? WHERE to_ns = 0 AND NOT EXISTS (SELECT 1 FROM files
				WHERE object_key = live_keys.key AND state NOT IN ('deleted', 'skipped'))
				AND NOT EXISTS (SELECT 1 FROM freed WHERE key = live_keys.key)`, []any{n}},
			{`INSERT INTO live_keys (key, size, sha256, from_ns)
				SELECT h.object_key, h.size, h.sha256,
					CASE WHEN h.uploaded_ns > 0 AND h.uploaded_ns <= ?1 AND NOT EXISTS (SELECT 1 FROM live_keys p WHERE p.key = h.object_key) THEN h.uploaded_ns ELSE ?1 END
				FROM (` + heldKeys + `) h
				WHERE NOT EXISTS (SELECT 1 FROM live_keys l WHERE l.key = h.object_key AND l.to_ns = 0)
				ON CONFLICT (key, from_ns) DO UPDATE SET to_ns = 0, size = excluded.size, sha256 = excluded.sha256`, []any{n}},
			{`UPDATE live_keys SET size = f.size, sha256 = f.sha256 FROM files f
				WHERE live_keys.to_ns = 0 AND f.object_key = live_keys.key AND f.state NOT IN ('deleted', 'skipped')
					AND (live_keys.size != f.size OR live_keys.sha256 != f.sha256)`, nil},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("sync live keys: %w", err)
			}
			c, _ := res.RowsAffected()
			total += c
		}
		changed = total > 0
		return nil
	})
	return changed, err
}

// LiveKey is one span a key was live on the device.
type LiveKey struct {
	Key    string
	Size   int64
	SHA256 string
	From   time.Time
	To     time.Time // zero while live now
}

// LiveKeys calls fn with every span of live_keys, by key and then from
// oldest to newest.
func (j *Journal) LiveKeys(ctx context.Context, fn func(LiveKey) error) error {
	rows, err := j.db.QueryContext(ctx, `SELECT key, size, sha256, from_ns, to_ns FROM live_keys WHERE from_ns >= 0 ORDER BY key, from_ns`)
	if err != nil {
		return fmt.Errorf("read live keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k LiveKey
		var from, to int64
		if err := rows.Scan(&k.Key, &k.Size, &k.SHA256, &from, &to); err != nil {
			return fmt.Errorf("read live keys: %w", err)
		}
		k.From = time.Unix(0, from)
		if to != 0 {
			k.To = time.Unix(0, to)
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ForgetLiveKeys removes the spans of keys whose objects were removed
// (prune): the manifest no longer names them. A key no file holds now
// keeps a mark (a row with from_ns and to_ns -1) so that a manifest read
// from the bucket, written before the prune, does not bring it back.
func (j *Journal) ForgetLiveKeys(ctx context.Context, keys []string) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			_, err := tx.ExecContext(ctx, `DELETE FROM live_keys WHERE key = ? AND to_ns != 0
				AND NOT EXISTS (SELECT 1 FROM live_keys l WHERE l.key = ? AND l.to_ns = 0)`, k, k)
			if err == nil {
				_, err = tx.ExecContext(ctx, `INSERT INTO live_keys (key, size, sha256, from_ns, to_ns)
					SELECT ?1, 0, '', -1, -1 WHERE NOT EXISTS (SELECT 1 FROM live_keys WHERE key = ?1 AND to_ns = 0)
					ON CONFLICT (key, from_ns) DO NOTHING`, k)
			}
			if err != nil {
				return fmt.Errorf("forget live key %s: %w", k, err)
			}
		}
		return nil
	})
}

// ForgottenKeys returns the keys ForgetLiveKeys forgot that no span holds
// since.
func (j *Journal) ForgottenKeys(ctx context.Context) (map[string]bool, error) {
	return j.liveKeySet(ctx, `SELECT key FROM live_keys WHERE from_ns < 0
		AND NOT EXISTS (SELECT 1 FROM live_keys l WHERE l.key = live_keys.key AND l.from_ns >= 0)`)
}

// OpenKeys returns which of keys have a span open now (a file holds them,
// as of the last SyncLiveKeys).
func (j *Journal) OpenKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, k := range keys {
		var one int
		err := j.db.QueryRowContext(ctx, `SELECT 1 FROM live_keys WHERE to_ns = 0 AND key = ?`, k).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("read live key %s: %w", k, err)
		default:
			out[k] = true
		}
	}
	return out, nil
}

func (j *Journal) liveKeySet(ctx context.Context, query string) (map[string]bool, error) {
	rows, err := j.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read live keys: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("read live keys: %w", err)
		}
		out[k] = true
	}
	return out, rows.Err()
}
