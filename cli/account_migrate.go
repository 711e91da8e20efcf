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
got. Stop the account service first, and every replica: it refuses a
SQLite file a running service has open, and, even with --force, a
PostgreSQL database replicas are connected to. It only reads the SQLite
file, and refuses one that is no accounts database. --from defaults to
the config's SQLite file, else accounts.db in state_dir; --to to the
config's postgres:// store; the password for --to comes from
--to-password-file, else the config's store_password_file. A PostgreSQL
database that already holds accounts is refused unless --force, which
replaces everything in it. Then account.yaml needs store: the postgres://
URL, and secret_key_file: the secret the SQLite service used (a copy of
secret.key in state_dir, unless it had one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.configPath == "" {
				return usageError(errors.New("--config is required"))
			}
			cfg, err := config.LoadAccount(g.configPath)
			if err != nil {
				return usageError(err)
			}
			return migrateStore(cmd.Context(), g, cfg, migrateArgs{from: from, to: to, passwordFile: passwordFile, force: force})
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

// migrateArgs are migrate-store's flags as given.
type migrateArgs struct {
	from, to, passwordFile string
	force                  bool
}

func migrateStore(ctx context.Context, g *globals, cfg *config.AccountServer, a migrateArgs) error {
	from, to := migrateFrom(cfg, a.from), or(a.to, postgresStore(cfg))
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
	src, err := account.OpenCopySource(ctx, path)
	if se, ok := errors.AsType[*account.SourceError](err); ok {
		return usageError(fmt.Errorf("--from %s: %s", from, se.Reason))
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := account.OpenCopyTarget(ctx, to, or(a.passwordFile, cfg.StorePasswordFile))
	if err != nil {
		return targetError(cfg, a, err)
	}
	defer dst.Close()
	counts, err := account.CopyStore(ctx, src, dst, a.force)
	if err != nil {
		return fmt.Errorf("migrate the accounts database: %w", err)
	}
	printCopied(g, cfg, path, to, counts)
	return nil
}

// targetError says where a --to setting that cannot be used came from:
// its flag, or its line in the config file.
func targetError(cfg *config.AccountServer, a migrateArgs, err error) error {
	ce, ok := errors.AsType[*account.StoreConfigError](err)
	if !ok {
		return err
	}
	flag, value := "--to", a.to
	if ce.Key == account.KeyStorePasswordFile {
		flag, value = "--to-password-file", a.passwordFile
	}
	if value != "" {
		return usageError(fmt.Errorf("%s: %w", flag, ce.Err))
	}
	return usageError(cfg.KeyError(ce.Key, ce.Err))
}

// printCopied reports the rows each table got and what to do next.
func printCopied(g *globals, cfg *config.AccountServer, path, to string, counts []account.TableCount) {
	fmt.Fprintf(g.stdout, "copied %s into PostgreSQL:\n", path)
	for _, c := range counts {
		fmt.Fprintf(g.stdout, "  %-14s %d row(s)\n", c.Table, c.Rows)
		if c.Table == "accounts" && c.Rows == 0 {
			fmt.Fprintf(g.stdout, "  (%s holds no accounts: if people signed up, --from names the wrong file)\n", path)
		}
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
}
