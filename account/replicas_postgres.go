package account

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

func postgresReplicas(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]Replica, error) {
	rows, err := q.Query(ctx, `SELECT name, issuer, seen_ns, stopped_ns FROM replicas ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Replica, error) {
		var r Replica
		var seen, stopped int64
		err := row.Scan(&r.Name, &r.Issuer, &seen, &stopped)
		r.Seen, r.Stopped = sqlitedb.Time(seen), sqlitedb.Time(stopped)
		return r, err
	})
}

const postgresPutReplica = `INSERT INTO replicas (name, issuer, seen_ns, stopped_ns) VALUES ($1, $2, $3, $4)
	ON CONFLICT (name) DO UPDATE SET issuer = excluded.issuer, seen_ns = excluded.seen_ns, stopped_ns = excluded.stopped_ns`

// JoinReplicas implements ReplicaStore: the table lock makes replicas
// joining at once take turns; heartbeats wait for it a moment.
func (s *Postgres) JoinReplicas(ctx context.Context, r Replica, since time.Time) ([]Replica, bool, error) {
	var others []Replica
	recorded := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE replicas IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		all, err := postgresReplicas(ctx, tx)
		if err != nil {
			return err
		}
		others = otherReplicas(all, r.Name)
		if _, found := conflicting(others, r, since); found {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM replicas WHERE issuer <> $1`, r.Issuer); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, postgresPutReplica, r.Name, r.Issuer, sqlitedb.Nanos(r.Seen), sqlitedb.Nanos(r.Stopped))
		recorded = err == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return others, recorded, nil
}

func (s *Postgres) PutReplica(ctx context.Context, r Replica, forget time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, postgresPutReplica, r.Name, r.Issuer, sqlitedb.Nanos(r.Seen), sqlitedb.Nanos(r.Stopped)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM replicas WHERE seen_ns < $1`, sqlitedb.Nanos(forget))
		return err
	})
}

func (s *Postgres) Replicas(ctx context.Context) ([]Replica, error) {
	return postgresReplicas(ctx, s.pool)
}
