package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// postgresSigningKeysSchema is the PostgreSQL migration that adds the
// signing keys.
const postgresSigningKeysSchema = `
CREATE TABLE signing_keys (
	seq        BIGINT PRIMARY KEY,
	kid        TEXT NOT NULL UNIQUE,
	created_ns BIGINT NOT NULL,
	sealed     BYTEA NOT NULL
);`

func (s *Postgres) SigningKeys(ctx context.Context, n int) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, kid, created_ns, sealed FROM
		(SELECT * FROM signing_keys ORDER BY seq DESC LIMIT $1) newest ORDER BY seq`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		var created int64
		err := row.Scan(&k.Seq, &k.ID, &created, &k.Sealed)
		k.Created = sqlitedb.Time(created)
		return k, err
	})
}

// AddSigningKeys implements SigningKeyStore: a racing insert of the same
// number waits for the first one's transaction and then does nothing.
func (s *Postgres) AddSigningKeys(ctx context.Context, keys []SigningKey, keep int) (bool, error) {
	added := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (seq, kid, created_ns, sealed) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, k.Seq, k.ID, sqlitedb.Nanos(k.Created), k.Sealed)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errNotAdded
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE seq <= (SELECT max(seq) FROM signing_keys) - $1`, keep); err != nil {
			return fmt.Errorf("forget old signing keys: %w", err)
		}
		added = true
		return nil
	})
	if errors.Is(err, errNotAdded) {
		return false, nil
	}
	return added, err
}

// errNotAdded rolls back AddSigningKeys when a key was there already.
var errNotAdded = errors.New("signing key exists")
