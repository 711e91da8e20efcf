package account

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TableCount is how many rows CopyStore put in one table.
type TableCount struct {
	Table string
	Rows  int64
}

// TargetHasAccountsError is returned by CopyStore when the PostgreSQL store
// already holds accounts and force is not set.
type TargetHasAccountsError struct{ Accounts int64 }

func (e *TargetHasAccountsError) Error() string {
	return fmt.Sprintf("the PostgreSQL store already holds %d account(s): copying would mix two services' people (--force replaces everything in it)", e.Accounts)
}

// derivedTables are kept by triggers from other tables (usage from
// objects): emptied after those are copied, then copied as they are, so
// that the counts are the source's, not recounted.
var derivedTables = []string{"usage"}

// TargetInUseError is returned by CopyStore, force or not, while service
// replicas are connected to the PostgreSQL store: Connections of theirs,
// from the client addresses From ("local" for a Unix socket or an address
// the user may not see).
type TargetInUseError struct {
	Connections int
	From        []string
}

func (e *TargetInUseError) Error() string {
	s := "s"
	if e.Connections == 1 {
		s = ""
	}
	return fmt.Sprintf("the target database is in use by %d %s connection%s (%s): stop every replica first",
		e.Connections, ApplicationName, s, strings.Join(e.From, ", "))
}

// refuseInUse returns a *TargetInUseError when sessions of the service are
// connected to dst's database. It first takes the lock the migrations
// take, so that a replica starting meanwhile waits for the copy.
func refuseInUse(ctx context.Context, dst pgx.Tx) error {
	if _, err := dst.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("lock the PostgreSQL store: %w", err)
	}
	rows, err := dst.Query(ctx, `SELECT coalesce(host(client_addr), 'local'), count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()
		GROUP BY 1 ORDER BY 1`, ApplicationName)
	if err != nil {
		return fmt.Errorf("list the PostgreSQL store's connections: %w", err)
	}
	inUse := &TargetInUseError{}
	for rows.Next() {
		var from string
		var n int
		if err := rows.Scan(&from, &n); err != nil {
			return fmt.Errorf("list the PostgreSQL store's connections: %w", err)
		}
		inUse.Connections += n
		inUse.From = append(inUse.From, from)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list the PostgreSQL store's connections: %w", err)
	}
	if inUse.Connections > 0 {
		return inUse
	}
	return nil
}

// CopyStore copies every table of the SQLite store from into the
// PostgreSQL store to, replacing what to holds, and returns the rows each
// table got. It reads from in one write transaction (nothing changes it
// meanwhile) and writes to in one transaction: on any error to is left as
// it was. It refuses a target the service is connected to (a
// *TargetInUseError), one that holds accounts unless force is set, and a
// source table the target has no place for. No service may use either
// store while it runs.
func CopyStore(ctx context.Context, from *SQLite, to *Postgres, force bool) ([]TableCount, error) {
	src, err := from.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lock the SQLite store: %w", err)
	}
	defer src.Rollback()
	tables, err := sqliteTables(ctx, src)
	if err != nil {
		return nil, err
	}
	var counts []TableCount
	err = pgx.BeginFunc(ctx, to.pool, func(dst pgx.Tx) error {
		counts, err = copyTables(ctx, src, dst, tables, force)
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// copyTables empties tables in dst and copies them from src, unless dst
// holds accounts and force is not set.
func copyTables(ctx context.Context, src *sql.Tx, dst pgx.Tx, tables []string, force bool) ([]TableCount, error) {
	if err := refuseInUse(ctx, dst); err != nil {
		return nil, err
	}
	var accounts int64
	if err := dst.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&accounts); err != nil {
		return nil, fmt.Errorf("count the PostgreSQL store's accounts: %w", err)
	}
	if accounts > 0 && !force {
		return nil, &TargetHasAccountsError{Accounts: accounts}
	}
	columns, err := postgresColumns(ctx, dst)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if columns[t] == nil {
			return nil, fmt.Errorf("the SQLite store's table %s has no counterpart in PostgreSQL: use the cloudkeep that wrote the SQLite store", t)
		}
	}
	if _, err := dst.Exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")); err != nil {
		return nil, fmt.Errorf("empty the PostgreSQL store: %w", err)
	}
	var counts []TableCount
	for _, t := range tables {
		if slices.Contains(derivedTables, t) { // filled by the triggers of the tables before it
			if _, err := dst.Exec(ctx, `DELETE FROM `+t); err != nil {
				return nil, fmt.Errorf("copy %s: %w", t, err)
			}
		}
		n, err := copyTable(ctx, src, dst, t, columns[t])
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t, err)
		}
		counts = append(counts, TableCount{Table: t, Rows: n})
	}
	return counts, nil
}

// sqliteTables lists the store's tables, the derived ones last.
func sqliteTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list the SQLite store's tables: %w", err)
	}
	defer rows.Close()
	var tables, derived []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list the SQLite store's tables: %w", err)
		}
		if slices.Contains(derivedTables, t) {
			derived = append(derived, t)
		} else {
			tables = append(tables, t)
		}
	}
	return append(tables, derived...), rows.Err()
}

// column is a PostgreSQL column and its type (information_schema's
// data_type: "text", "bigint", "boolean", "date", "bytea"…).
type column struct{ name, typ string }

// postgresColumns returns the columns of every table of the store.
func postgresColumns(ctx context.Context, tx pgx.Tx) (map[string][]column, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL store's schema: %w", err)
	}
	defer rows.Close()
	out := map[string][]column{}
	for rows.Next() {
		var table string
		var c column
		if err := rows.Scan(&table, &c.name, &c.typ); err != nil {
			return nil, fmt.Errorf("read the PostgreSQL store's schema: %w", err)
		}
		out[table] = append(out[table], c)
	}
	return out, rows.Err()
}

// copyTable streams table's rows from src into dst with COPY and returns
// how many it copied.
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, table string, cols []column) (int64, error) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+table)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	return dst.CopyFrom(ctx, pgx.Identifier{table}, names, &sqliteRows{rows: rows, cols: cols})
}

// sqliteRows is a pgx.CopyFromSource over SQLite rows, each value turned
// into its PostgreSQL column's type.
type sqliteRows struct {
	rows *sql.Rows
	cols []column
	vals []any
	err  error
}

func (r *sqliteRows) Next() bool {
	if !r.rows.Next() {
		return false
	}
	raw := make([]any, len(r.cols))
	ptrs := make([]any, len(r.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if r.err = r.rows.Scan(ptrs...); r.err != nil {
		return false
	}
	r.vals = raw
	for i, c := range r.cols {
		if r.vals[i], r.err = toPostgres(raw[i], c.typ); r.err != nil {
			r.err = fmt.Errorf("column %s: %w", c.name, r.err)
			return false
		}
	}
	return true
}

func (r *sqliteRows) Values() ([]any, error) { return r.vals, nil }

func (r *sqliteRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// toPostgres turns v, as SQLite returns it, into a value of the PostgreSQL
// type typ: SQLite keeps flags as integers and dates as text.
func toPostgres(v any, typ string) (any, error) {
	switch x := v.(type) {
	case int64:
		if typ == "boolean" {
			return x != 0, nil
		}
	case string:
		if typ == "date" {
			return time.Parse(time.DateOnly, x)
		}
		if typ == "bytea" {
			return []byte(x), nil
		}
	case []byte:
		if typ == "text" {
			return string(x), nil
		}
	}
	return v, nil
}
