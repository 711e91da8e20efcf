package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// ErrNoJournal is returned by OpenReadOnly when the state directory holds
// no journal yet: no agent has run with it.
var ErrNoJournal = errors.New("no journal yet")

// OpenReadOnly opens the journal at path for reading only, for commands
// that look and change nothing (status). It never creates the journal
// (ErrNoJournal when there is none) nor any file beside it: a journal
// left by a clean stop (no -wal file) is read as it is on disk, so that
// a look by root leaves no root-owned file for the agent's user to trip
// on. Its write methods fail.
func OpenReadOnly(ctx context.Context, path string) (*Journal, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open journal %s: %w", path, ErrNoJournal)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)"}}
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		q.Set("immutable", "1") // no WAL to read: no lock or -shm file needed
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if version > len(migrations) {
		db.Close()
		return nil, fmt.Errorf("open journal %s: schema version %d is newer than this cloudkeep knows (%d): upgrade cloudkeep", path, version, len(migrations))
	}
	j := &Journal{db: db}
	if err := j.stmt.prepare(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.commit = newCommitter(db)
	return j, nil
}
