package account

import (
	"context"
	"errors"
	"time"

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

// postgresRetireReplicasSchema is the PostgreSQL migration that keeps a
// superseded signing key until the tokens it signed have expired, and
// records the replicas (see retireReplicasSchema).
const postgresRetireReplicasSchema = `
ALTER TABLE signing_keys ADD COLUMN retire_ns BIGINT NOT NULL DEFAULT 0;
CREATE TABLE replicas (
	name       TEXT PRIMARY KEY,
	issuer     TEXT NOT NULL,
	seen_ns    BIGINT NOT NULL,
	stopped_ns BIGINT NOT NULL DEFAULT 0
);`

func (s *Postgres) SigningKeys(ctx context.Context, n int) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, kid, created_ns, sealed, retire_ns FROM
		(SELECT * FROM signing_keys ORDER BY seq DESC LIMIT $1) newest ORDER BY seq`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		var created, retire int64
		err := row.Scan(&k.Seq, &k.ID, &created, &k.Sealed, &retire)
		k.Created, k.RetireAfter = sqlitedb.Time(created), sqlitedb.Time(retire)
		return k, err
	})
}

// AddSigningKeys implements SigningKeyStore: a racing insert of the same
// number waits for the first one's transaction and then does nothing.
func (s *Postgres) AddSigningKeys(ctx context.Context, keys []SigningKey) (bool, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (seq, kid, created_ns, sealed, retire_ns) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT DO NOTHING`, k.Seq, k.ID, sqlitedb.Nanos(k.Created), k.Sealed, sqlitedb.Nanos(k.RetireAfter))
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errNotAdded
			}
		}
		return nil
	})
	if errors.Is(err, errNotAdded) {
		return false, nil
	}
	return err == nil, err
}

func (s *Postgres) KeepSigningKey(ctx context.Context, seq int64, until time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE signing_keys SET retire_ns = $2 WHERE seq = $1 AND retire_ns < $2`, seq, sqlitedb.Nanos(until))
	return err
}

func (s *Postgres) RetireSigningKeys(ctx context.Context, now time.Time, keep int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE retire_ns > 0 AND retire_ns < $1
		AND seq <= (SELECT max(seq) FROM signing_keys) - $2`, sqlitedb.Nanos(now), keep)
	return tag.RowsAffected(), err
}

// errNotAdded rolls back AddSigningKeys when a key was there already.
var errNotAdded = errors.New("signing key exists")
