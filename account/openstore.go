package account

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cloudkeep/cloudkeep/config"
)

// OpenStore opens the store that dsn names: empty or "sqlite:" for the
// SQLite file accounts.db in stateDir (the default), "sqlite:PATH" for
// another SQLite file, "postgres://…" (or "postgresql://…") for a
// PostgreSQL database that several replicas may share. passwordFile, when
// not empty, holds PostgreSQL's password; it must not be readable by
// others.
func OpenStore(ctx context.Context, dsn, stateDir, passwordFile string) (Store, error) {
	switch {
	case dsn == "" || dsn == "sqlite:":
		return OpenSQLite(ctx, filepath.Join(stateDir, "accounts.db"))
	case strings.HasPrefix(dsn, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		var password string
		if passwordFile != "" {
			var err error
			if password, err = config.ReadSecretFile(passwordFile); err != nil {
				return nil, fmt.Errorf("read the accounts database password: %w", err)
			}
		}
		return OpenPostgres(ctx, dsn, password)
	}
	return nil, fmt.Errorf("unknown accounts store %q: want sqlite:PATH or postgres://…", redactDSN(dsn))
}

// redactDSN is dsn for a message: up to the first ':' then "…", so that a
// password in it is never shown.
func redactDSN(dsn string) string {
	if i := strings.IndexAny(dsn, ":@"); i >= 0 {
		return dsn[:i] + ":…"
	}
	return dsn
}
