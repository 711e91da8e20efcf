package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

func accountMigrateCmd(g *globals) *cobra.Command {
	var from, to, passwordFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "migrate-store",
		Short: "Copy the accounts database from SQLite to PostgreSQL (stop the account service first)",
		Long: `Copy every table of the accounts database from a SQLite file into a
PostgreSQL database, in one transaction, and print how many rows each table
got. Stop the account service first: it refuses a SQLite file a running
service has open. --from defaults to the config's SQLite file, else
accounts.db in state_dir; --to to the config's postgres:// store; the
password for --to comes from --to-password-file, else the config's
store_password_file. A PostgreSQL database that already holds accounts is
refused unless --force, which replaces everything in it. Then account.yaml
needs store: the postgres:// URL, and secret_key_file: the secret the SQLite
service used (a copy of secret.key in state_dir, unless it had one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.configPath == "" {
				return usageError(errors.New("--config is required"))
			}
			cfg, err := config.LoadAccount(g.configPath)
			if err != nil {
				return usageError(err)
			}
			return migrateStore(cmd.Context(), g, cfg, migrateFrom(cfg, from), or(to, postgresStore(cfg)), or(passwordFile, cfg.StorePasswordFile), force)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the SQLite store: sqlite:PATH (default: the config's, else accounts.db in state_dir)")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL store: postgres://USER@HOST:PORT/DB?sslmode=… (default: the config's store)")
	cmd.Flags().StringVar(&passwordFile, "to-password-file", "", "a file holding the PostgreSQL password, mode 0600 (default: the config's store_password_file)")
	cmd.Flags().BoolVar(&force, "force", false, "replace a PostgreSQL store that already holds accounts")
	return cmd
}

// migrateFrom is --from, else the config's SQLite file, else accounts.db
// in state_dir (where the service kept it before store named PostgreSQL).
func migrateFrom(cfg *config.AccountServer, from string) string {
	switch {
	case from != "":
		return from
	case strings.HasPrefix(cfg.Store, "sqlite:") && cfg.Store != "sqlite:":
		return cfg.Store
	}
	return "sqlite:" + filepath.Join(cfg.StateDir, "accounts.db")
}

// postgresStore is the config's store when it is PostgreSQL.
func postgresStore(cfg *config.AccountServer) string {
	if strings.HasPrefix(cfg.Store, "postgres://") || strings.HasPrefix(cfg.Store, "postgresql://") {
		return cfg.Store
	}
	return ""
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func migrateStore(ctx context.Context, g *globals, cfg *config.AccountServer, from, to, passwordFile string, force bool) error {
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok || path == "" {
		return usageError(errors.New("--from: want sqlite:PATH, the SQLite accounts database to copy"))
	}
	if postgresStore(&config.AccountServer{Store: to}) == "" {
		return usageError(errors.New("--to: want postgres://USER@HOST:PORT/DB?sslmode=…, the PostgreSQL database to copy into"))
	}
	if _, err := os.Stat(path); err != nil {
		return usageError(fmt.Errorf("--from: no SQLite accounts database at %s: %w", path, err))
	}
	if pid, err := account.SQLiteUser(path); err != nil {
		return fmt.Errorf("check that no service uses %s: %w", path, err)
	} else if pid != 0 {
		return fmt.Errorf("%s is open in process %d (a running account service?): stop the service first (systemctl stop cloudkeep-accounts), then migrate", path, pid)
	}
	src, err := account.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := account.OpenStore(ctx, to, cfg.StateDir, passwordFile)
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := account.CopyStore(ctx, src, st.(*account.Postgres), force)
	if err != nil {
		return fmt.Errorf("migrate the accounts database: %w", err)
	}
	fmt.Fprintf(g.stdout, "copied %s into PostgreSQL:\n", path)
	for _, c := range counts {
		fmt.Fprintf(g.stdout, "  %-14s %d row(s)\n", c.Table, c.Rows)
	}
	var next []string
	if cfg.Store != to {
		next = append(next, "store: the postgres:// URL")
	}
	if cfg.SecretKeyFile == "" {
		next = append(next, "secret_key_file: a copy of "+filepath.Join(cfg.StateDir, "secret.key")+
			" (mode 0600), the secret the signing keys are sealed with")
	}
	if len(next) == 0 {
		fmt.Fprintln(g.stdout, "account.yaml names this database and its secret: start the account service.")
	} else {
		fmt.Fprintf(g.stdout, "Next, set in account.yaml: %s. Then start the account service.\n", strings.Join(next, "; "))
	}
	return nil
}
