package account_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/account/storetest"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

func TestPostgres_Store(t *testing.T) {
	storetest.Run(t, func(t *testing.T) account.Store {
		s, err := account.OpenPostgres(context.Background(), pgtest.DB(t)+"&pool_max_conns=20", "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgres_ObjectStore(t *testing.T) {
	storetest.RunObjects(t, func(t *testing.T) account.ObjectStore {
		s, err := account.OpenPostgres(context.Background(), pgtest.DB(t)+"&pool_max_conns=20", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Replicas starting at once on a new database: each opens it, the schema
// is made once.
func TestOpenPostgres_MigratesOnceAtOnce(t *testing.T) {
	dsn := pgtest.DB(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s, err := account.OpenPostgres(context.Background(), dsn, "")
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var version, rows int
	if err := conn.QueryRow(context.Background(), `SELECT max(version), count(*) FROM schema_version`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	if want := account.PostgresSchemaVersion; version != want || rows != 1 {
		t.Errorf("schema_version: %d rows, version %d; want 1 row, version %d", rows, version, want)
	}
}

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	u, _ := url.Parse(dsn)
	u.User = url.User(pgtest.User)
	bare := u.String() // the same database, without the password
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pg-password")
	os.WriteFile(pwFile, []byte(pgtest.Password+"\n"), 0o600)

	s, err := account.OpenStore(ctx, bare, dir, pwFile)
	if err != nil {
		t.Fatalf("postgres with a password file: %v", err)
	}
	if _, ok := s.(*account.Postgres); !ok {
		t.Errorf("got a %T, want *account.Postgres", s)
	}
	s.Close()

	os.WriteFile(filepath.Join(dir, "wrong"), []byte("not-the-password\n"), 0o600)
	_, err = account.OpenStore(ctx, bare, dir, filepath.Join(dir, "wrong"))
	if err == nil || strings.Contains(err.Error(), "not-the-password") || !strings.Contains(err.Error(), "password authentication failed") ||
		!strings.Contains(err.Error(), "open accounts database "+pgtest.User+"@127.0.0.1:") {
		t.Errorf("a wrong password: got %v, want the failure named, without the password", err)
	}
	os.Chmod(pwFile, 0o644)
	if _, err := account.OpenStore(ctx, bare, dir, pwFile); err == nil || !strings.Contains(err.Error(), pwFile) {
		t.Errorf("a password file others may read: got %v, want it refused", err)
	}
	if _, err := account.OpenStore(ctx, "mysql://root:secret@db/x", dir, ""); err == nil ||
		err.Error() != `store: unknown accounts store "mysql:…": want sqlite:PATH or postgres://…` {
		t.Errorf("another database: got %v", err)
	}
	if _, err := account.OpenStore(ctx, "host=db password=S3cr3tKV dbname=x", dir, ""); err == nil ||
		err.Error() != `store: unknown accounts store (not shown: it may hold a password): want sqlite:PATH or postgres://…` {
		t.Errorf("a key=value string: got %v", err)
	}

	s, err = account.OpenStore(ctx, "", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "accounts.db")); err != nil {
		t.Errorf("the default store is not accounts.db in the state directory: %v", err)
	}
}
