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
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the config file and print the effective configuration (secrets redacted)",
		Args:  cobra.NoArgs,
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
			out, err := cfg.Redacted()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "# %s is valid; effective configuration:\n%s", cfg.File(), out)
			return nil
		},
	}
}
