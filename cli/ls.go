package cli

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

// restoreFlags select what ls and restore act on.
type restoreFlags struct {
	device, prefix, since string
}

func (f *restoreFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.device, "device", "", "only this device's files")
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "only paths starting with this (below the account, e.g. laptop/pictures/2024/)")
	cmd.Flags().StringVar(&f.since, "since", "", "only files modified on or after this date (YYYY-MM-DD)")
}

// items lists the stored files of this account (or static user).
func (g *globals) items(cmd *cobra.Command, cfg *config.Agent, be *backend, f restoreFlags) ([]restore.Item, error) {
	filter := restore.Filter{Device: f.device}
	if f.since != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.since, time.Local)
		if err != nil {
			return nil, usageError(fmt.Errorf("--since %q: want a date such as 2024-06-01", f.since))
		}
		filter.Since = t
	}
	if err := be.requireSignIn(cmd.Context()); err != nil {
		return nil, err
	}
	base := keyTemplate(cfg, be.bucket).UserPrefix()
	items, err := restore.List(cmd.Context(), be.st, base+f.prefix, filter)
	if err != nil {
		return nil, storageFailure(err)
	}
	for i := range items { // paths relative to the account, whatever the prefix
		items[i].Rel = f.prefix + items[i].Rel
	}
	return items, nil
}

// storageFailure makes a refusal of the storage a failure of the command
// (exit 1) with its own words: signed out, quota.
func storageFailure(err error) error {
	if auth.IsSignedOut(err) {
		return &exitError{exitFailed, auth.ErrSignedOut}
	}
	if q, ok := storage.IsQuota(err); ok {
		return &exitError{exitFailed, q}
	}
	return err
}

func lsCmd(g *globals) *cobra.Command {
	var f restoreFlags
	var long, asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List what is backed up for this account",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.prefix = args[0]
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
			be, err := openBackend(cfg, log)
			if err != nil {
				return err
			}
			defer be.Close()
			items, err := g.items(cmd, cfg, be, f)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.stdout, items)
			}
			var total int64
			for _, it := range items {
				total += it.Size
				if long {
					fmt.Fprintf(g.stdout, "%10s  %s  %-12s  %s\n", humanize.IBytes(uint64(it.Size)),
						it.MTime.Local().Format("2006-01-02 15:04"), it.Device, it.Rel)
				} else {
					fmt.Fprintln(g.stdout, it.Rel)
				}
			}
			if long {
				fmt.Fprintf(g.stdout, "%d file(s), %s\n", len(items), humanize.IBytes(uint64(total)))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&long, "long", "l", false, "sizes, modification times and devices")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
