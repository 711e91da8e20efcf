package account

import (
	"context"
	"database/sql"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// signingKeysSchema is the SQLite migration that adds the signing keys.
const signingKeysSchema = `
CREATE TABLE signing_keys (
	seq        INTEGER PRIMARY KEY,
	kid        TEXT NOT NULL UNIQUE,
	created_ns INTEGER NOT NULL,
	sealed     BLOB NOT NULL
);`

// retireReplicasSchema is the SQLite migration that keeps a superseded
// signing key until the tokens it signed have expired (retire_ns, see
// SigningKey.RetireAfter), and records the replicas and the public URL
// each uses (see Replica).
const retireReplicasSchema = `
ALTER TABLE signing_keys ADD COLUMN retire_ns INTEGER NOT NULL DEFAULT 0;
CREATE TABLE replicas (
	name       TEXT PRIMARY KEY,
	issuer     TEXT NOT NULL,
	seen_ns    INTEGER NOT NULL,
	stopped_ns INTEGER NOT NULL DEFAULT 0
);`

func (s *SQLite) SigningKeys(ctx context.Context, n int) ([]SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kid, created_ns, sealed, retire_ns FROM
		(SELECT * FROM signing_keys ORDER BY seq DESC LIMIT ?) ORDER BY seq`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created, retire int64
		if err := rows.Scan(&k.Seq, &k.ID, &created, &k.Sealed, &retire); err != nil {
			return nil, err
		}
		k.Created, k.RetireAfter = sqlitedb.Time(created), sqlitedb.Time(retire)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *SQLite) AddSigningKeys(ctx context.Context, keys []SigningKey) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	for _, k := range keys {
		res, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (seq, kid, created_ns, sealed, retire_ns) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, k.Seq, k.ID, sqlitedb.Nanos(k.Created), k.Sealed, sqlitedb.Nanos(k.RetireAfter))
		if n, _ := rowsAffected(res, err); n != 1 {
			return false, err
		}
	}
	return true, tx.Commit()
}

func (s *SQLite) KeepSigningKey(ctx context.Context, seq int64, until time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE signing_keys SET retire_ns = ?2 WHERE seq = ?1 AND retire_ns < ?2`, seq, sqlitedb.Nanos(until))
	return err
}

func (s *SQLite) RetireSigningKeys(ctx context.Context, now time.Time, keep int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM signing_keys WHERE retire_ns > 0 AND retire_ns < ?
		AND seq <= (SELECT max(seq) FROM signing_keys) - ?`, sqlitedb.Nanos(now), keep)
	return rowsAffected(res, err)
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
