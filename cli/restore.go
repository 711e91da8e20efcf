package cli

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/restore"
)

func restoreCmd(g *globals) *cobra.Command {
	var f restoreFlags
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "restore DEST",
		Short: "Bring backed-up photos and videos back into DEST, verified byte for byte",
		Long: `Downloads every backed-up file of this account (or those --device, --prefix
and --since select) into DEST, keeping the paths below the account. Each file
is checked against its recorded SHA-256 before it takes its place, and gets
its original modification time. A file already there with the same content
is skipped; a different one is kept, and the restored copy gets " (restored)"
in its name unless --overwrite. Run it again to finish an interrupted restore.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			return g.restore(cmd, cfg, args[0], f, overwrite)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace different files at the same paths")
	return cmd
}

func (g *globals) restore(cmd *cobra.Command, cfg *config.Agent, dest string, f restoreFlags, overwrite bool) error {
	log, bar := g.barLogger(cfg)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	items, err := g.items(cmd, cfg, be, f)
	if err != nil {
		return err
	}
	var total int64
	for _, it := range items {
		total += it.Size
	}
	o := restore.Options{Storage: be.st, Dest: config.ExpandHome(dest), Overwrite: overwrite,
		Workers: cfg.Storage.Concurrency.Files, BandwidthLimit: int64(cfg.Storage.BandwidthLimit), Log: log}
	var p *barProgress
	if bar {
		p = &barProgress{w: g.stderr}
		p.Planned(len(items), total)
		o.Progress, o.FileDone = p.Add, p.FileDone
	}
	start := time.Now()
	sum := restore.Restore(cmd.Context(), items, o)
	if p != nil {
		p.finish()
	}
	fmt.Fprintf(g.stdout, "restored %d file(s), %s downloaded in %s; %d already in place, %d failed\n",
		sum.Restored, humanize.IBytes(uint64(sum.Bytes)), time.Since(start).Round(time.Millisecond), sum.Skipped, len(sum.Failed))
	for _, fl := range sum.Failed {
		fmt.Fprintf(g.stdout, "  failed: %s: %v\n", fl.Key, fl.Err)
	}
	if cmd.Context().Err() != nil {
		return &exitError{exitFailed, fmt.Errorf("restore interrupted: run it again to continue")}
	}
	if len(sum.Failed) > 0 {
		return &exitError{exitFailed, fmt.Errorf("%d file(s) not restored", len(sum.Failed))}
	}
	return nil
}
