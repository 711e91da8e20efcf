package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// SourceError is a SQLite file CopyStore cannot copy from: Reason says
// why (it is no accounts database, or one of another version).
type SourceError struct{ Path, Reason string }

func (e *SourceError) Error() string { return e.Path + ": " + e.Reason }

// OpenCopySource opens the SQLite store at path for CopyStore: read only,
// never created nor migrated, so that a wrong path leaves the file as it
// was. A file that is not an accounts database of this cloudkeep's schema
// is a *SourceError.
func OpenCopySource(ctx context.Context, path string) (*SQLite, error) {
	db, version, err := sqlitedb.OpenReadOnly(ctx, path)
	if err != nil {
		if strings.Contains(err.Error(), "file is not a database") {
			return nil, &SourceError{Path: path, Reason: "not a SQLite database"}
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &SQLite{db: db}
	if err := s.checkCopySource(ctx, path, version); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkCopySource refuses a source whose schema is not this cloudkeep's.
func (s *SQLite) checkCopySource(ctx context.Context, path string, version int) error {
	want := len(sqliteSchema)
	switch {
	case version > want:
		return &SourceError{Path: path, Reason: fmt.Sprintf("written by a newer cloudkeep (schema version %d, this one knows %d): migrate with that cloudkeep", version, want)}
	case version == want:
		return nil
	case version > 0:
		return &SourceError{Path: path, Reason: fmt.Sprintf("written by an older cloudkeep (schema version %d of %d): start this cloudkeep's account service on it once, stop it, then migrate", version, want)}
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if tables == 0 {
		return &SourceError{Path: path, Reason: "not a cloudkeep accounts database (no tables)"}
	}
	return &SourceError{Path: path, Reason: "not a cloudkeep accounts database (no cloudkeep schema)"}
}

// copyAppName names the connections of migrate-store, which are not the
// service's.
const copyAppName = "cloudkeep-migrate-store"

// OpenCopyTarget opens the PostgreSQL store at dsn for CopyStore (its
// password in passwordFile, when not empty), bringing its schema up to
// date. Its connections are not the service's: CopyStore tells them
// apart. A dsn or password file that cannot be used is a
// *StoreConfigError.
func OpenCopyTarget(ctx context.Context, dsn, passwordFile string) (*Postgres, error) {
	var password string
	if passwordFile != "" {
		var err error
		if password, err = config.ReadSecretFile(passwordFile); err != nil {
			return nil, &StoreConfigError{Key: KeyStorePasswordFile, Err: err}
		}
	}
	return openPostgresAs(ctx, dsn, password, copyAppName)
}
