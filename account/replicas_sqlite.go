package account

import (
	"context"
	"database/sql"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// queryer is what SQLite's replica queries run on: the database or a
// transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func sqliteReplicas(ctx context.Context, q queryer) ([]Replica, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, issuer, seen_ns, stopped_ns FROM replicas ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Replica
	for rows.Next() {
		var r Replica
		var seen, stopped int64
		if err := rows.Scan(&r.Name, &r.Issuer, &seen, &stopped); err != nil {
			return nil, err
		}
		r.Seen, r.Stopped = sqlitedb.Time(seen), sqlitedb.Time(stopped)
		out = append(out, r)
	}
	return out, rows.Err()
}

const sqlitePutReplica = `INSERT INTO replicas (name, issuer, seen_ns, stopped_ns) VALUES (?, ?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET issuer = excluded.issuer, seen_ns = excluded.seen_ns, stopped_ns = excluded.stopped_ns`

// JoinReplicas implements ReplicaStore in one write transaction (the
// store's transactions take the write lock at once).
func (s *SQLite) JoinReplicas(ctx context.Context, r Replica, since time.Time) ([]Replica, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	all, err := sqliteReplicas(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	others := otherReplicas(all, r.Name)
	if _, found := conflicting(others, r, since); found {
		return others, false, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM replicas WHERE issuer <> ?`, r.Issuer); err != nil {
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, sqlitePutReplica, r.Name, r.Issuer, sqlitedb.Nanos(r.Seen), sqlitedb.Nanos(r.Stopped)); err != nil {
		return nil, false, err
	}
	return others, true, tx.Commit()
}

func (s *SQLite) PutReplica(ctx context.Context, r Replica, forget time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sqlitePutReplica, r.Name, r.Issuer, sqlitedb.Nanos(r.Seen), sqlitedb.Nanos(r.Stopped)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM replicas WHERE seen_ns < ?`, sqlitedb.Nanos(forget)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *SQLite) Replicas(ctx context.Context) ([]Replica, error) { return sqliteReplicas(ctx, s.db) }

// otherReplicas returns the replicas of all not named name.
func otherReplicas(all []Replica, name string) []Replica {
	var out []Replica
	for _, r := range all {
		if r.Name != name {
			out = append(out, r)
		}
	}
	return out
}
