package account

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cloudkeep/cloudkeep/config"
)

// OpenStore opens the store that dsn names: empty or "sqlite:" for the
// SQLite file accounts.db in stateDir (the default), "sqlite:PATH" for
// another SQLite file, "postgres://…" (or "postgresql://…") for a
// PostgreSQL database that several replicas may share. passwordFile, when
// not empty, holds PostgreSQL's password; it must not be readable by
// others. A dsn or password file that cannot be used is a
// *StoreConfigError.
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
				return nil, &StoreConfigError{Key: KeyStorePasswordFile, Err: err}
			}
		}
		return OpenPostgres(ctx, dsn, password)
	}
	return nil, &StoreConfigError{Key: KeyStore, Err: fmt.Errorf("unknown accounts store %s: want sqlite:PATH or postgres://…", redactDSN(dsn))}
}

// The settings a StoreConfigError names, as account.yaml spells them.
const (
	KeyStore             = "store"
	KeyStorePasswordFile = "store_password_file"
)

// StoreConfigError is a setting of the accounts store that cannot be
// used: Key names it (KeyStore, KeyStorePasswordFile) and Err says what is
// wrong and what to fix. Neither ever holds a password.
type StoreConfigError struct {
	Key string
	Err error
}

func (e *StoreConfigError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *StoreConfigError) Unwrap() error { return e.Err }

// plainScheme is a scheme that may be shown: letters only, so no password.
var plainScheme = regexp.MustCompile(`^[A-Za-z]{1,20}$`)

// redactDSN is dsn for a message: its scheme, when made of letters, then
// ":…"; else nothing of it, so that a password in it is never shown.
func redactDSN(dsn string) string {
	if scheme, _, ok := strings.Cut(dsn, ":"); ok && plainScheme.MatchString(scheme) {
		return fmt.Sprintf("%q", scheme+":…")
	}
	return "(not shown: it may hold a password)"
}
