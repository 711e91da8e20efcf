package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// Each database is fresh and reachable with the password, and refused
// without it.
func TestDB(t *testing.T) {
	ctx := context.Background()
	for range 2 {
		dsn := pgtest.DB(t)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		conn.Exec(ctx, `CREATE TABLE t (x int)`)
		conn.Close(ctx)
		if tables != 0 {
			t.Errorf("a new database has %d tables, want 0", tables)
		}
	}
	c := pgtest.Shared(t)
	if _, err := pgx.Connect(ctx, c.URL("postgres", false)+"&password=wrong"); err == nil {
		t.Error("a wrong password was accepted")
	}
}

// A database sorts text by English rules, so that a test catches a query
// that needs byte order and does not ask for it.
func TestDB_SortsLikeProduction(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var english, bytes bool
	if err := conn.QueryRow(ctx, `SELECT 'a' < 'B', 'a' COLLATE "C" < 'B'`).Scan(&english, &bytes); err != nil {
		t.Fatal(err)
	}
	if !english || bytes {
		t.Errorf("'a' < 'B': %v by default, %v by bytes; want true, false", english, bytes)
	}
}
