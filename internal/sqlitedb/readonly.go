package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// OpenReadOnly opens the existing database at path for reading only, and
// returns it with its schema version. It never creates the file, writes
// to it or migrates it: a file that is not a database (an empty one
// included) stays as it was. Transactions are deferred: each reads one
// snapshot.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, int, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, 0, fmt.Errorf("database path %s: %w", path, err)
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // a Windows drive: file:///C:/…
	}
	q := url.Values{"mode": {"ro"}, "_txlock": {"deferred"}, "_pragma": {"busy_timeout(10000)", "query_only(1)"}}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, 0, err
	}
	db.SetMaxOpenConns(1)
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, version, nil
}
