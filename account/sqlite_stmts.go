package account

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the prepared statements of the hot paths (the storage
// gate's, the device read of every API call): for these small statements
// SQLite spends more time parsing and planning than running them. The
// cache only ever holds statements of fixed text, so it stays small.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmt returns q prepared once on s's database. It prepares without
// holding the cache's lock: the database has one connection, which a
// transaction may hold while it looks up a statement here.
func (s *SQLite) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := s.cached(q); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[q]; ok { // prepared meanwhile by another call
		st.Close()
		return had, nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st, nil
}

// cached returns q's prepared statement, or nil when it has none yet.
func (s *SQLite) cached(q string) *sql.Stmt {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// prepare prepares the statements used inside transactions, which cannot
// prepare them there (the transaction holds the one connection).
func (s *SQLite) prepare(ctx context.Context, qs ...string) error {
	for _, q := range qs {
		if _, err := s.stmt(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// query is s.db.QueryContext with q prepared once.
func (s *SQLite) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is s.db.QueryRowContext with q prepared once.
func (s *SQLite) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return s.db.QueryRowContext(ctx, q, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// exec is s.db.ExecContext with q prepared once.
func (s *SQLite) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txExec is tx.ExecContext with q's statement prepared by prepare, if it
// was (else q is prepared anew: see prepare).
func (s *SQLite) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}
