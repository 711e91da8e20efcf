package sqlitedb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

var migrations = []string{`CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`}

// A state directory may have any name: characters that mean something in a
// URL (?, #, %, a space) are part of the path, not of the DSN's query.
func TestOpen_PathWithURLCharacters(t *testing.T) {
	for _, dir := range []string{"what? #1 100%", "a#b", "q?x=1&y=2", "plain"} {
		t.Run(dir, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), dir, "state.db")
			db, err := sqlitedb.Open(ctx, path, migrations)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO notes (text) VALUES (?)`, "hello"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database file: got %v, want it at %s", err, path)
			}
			db, err = sqlitedb.Open(ctx, path, migrations)
			if err != nil {
				t.Fatalf("reopen %q: %v", path, err)
			}
			defer db.Close()
			var text, mode string
			if err := db.QueryRowContext(ctx, `SELECT text FROM notes`).Scan(&text); err != nil || text != "hello" {
				t.Fatalf("read back: got %q, %v; want %q", text, err, "hello")
			}
			if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode: got %q, %v; want wal (the DSN's pragmas applied)", mode, err)
			}
		})
	}
}
