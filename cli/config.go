package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/config"
)

func configCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write or check the config file",
	}
	cmd.AddCommand(configInitCmd(g), configCheckCmd(g))
	return cmd
}

func configInitCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented example config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := g.configPath
			if path == "" {
				p, err := config.UserPath()
				if err != nil {
					return err
				}
				path = p
			}
			if _, err := os.Stat(path); err == nil && !force {
				return usageError(fmt.Errorf("%s already exists (use --force to replace it)", path))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, config.Example, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s\nedit it, then run: cloudkeep config check --config %s\n", path, path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	return cmd
}

func configCheckCmd(g *globals) *cobra.Command {
	var connect, create bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config file and print the effective configuration (secrets redacted)",
		Long: `Validates the config file and prints the effective configuration (secrets
redacted). With --connect it reaches the storage (in account mode, the account
service and the storage through it) instead, and says what works, one line per
check: the server answers, the clock agrees with it, the credentials are
accepted, the bucket exists and takes a write. It exits 1 when a check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if _, err := cfg.SecretKey(); err != nil {
				return usageError(err)
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintln(g.stderr, "warning:", w)
			}
			if connect || create {
				fmt.Fprintf(g.stdout, "%s is valid\n", cfg.File())
				c := &connectCheck{w: g.stdout, cfg: cfg, create: create}
				return c.run(cmd.Context())
			}
			out, err := cfg.Redacted()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "# %s is valid; effective configuration:\n%s", cfg.File(), out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&connect, "connect", false, "reach the storage and the account service and say what works")
	cmd.Flags().BoolVar(&create, "create-bucket", false, "with --connect: create the bucket when it is missing")
	return cmd
}
