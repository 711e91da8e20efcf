package account

import (
	"context"
	"database/sql"
	"fmt"

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

func (s *SQLite) SigningKeys(ctx context.Context, n int) ([]SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kid, created_ns, sealed FROM
		(SELECT * FROM signing_keys ORDER BY seq DESC LIMIT ?) ORDER BY seq`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created int64
		if err := rows.Scan(&k.Seq, &k.ID, &created, &k.Sealed); err != nil {
			return nil, err
		}
		k.Created = sqlitedb.Time(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *SQLite) AddSigningKeys(ctx context.Context, keys []SigningKey, keep int) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	for _, k := range keys {
		res, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (seq, kid, created_ns, sealed) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, k.Seq, k.ID, sqlitedb.Nanos(k.Created), k.Sealed)
		if n, _ := rowsAffected(res, err); n != 1 {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE seq <= (SELECT max(seq) FROM signing_keys) - ?`, keep); err != nil {
		return false, fmt.Errorf("forget old signing keys: %w", err)
	}
	return true, tx.Commit()
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
