package cli

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
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
	bar := isTerminal(g.stderr) && cfg.Log.Level != "debug"
	level := cfg.Log.Level
	if bar && g.logLevel == "" {
		level = "warn"
	}
	log := newLogger(g.stderr, level, cfg.Log.Format)
	st, err := newStorage(cfg)
	if err != nil {
		return err
	}
	items, err := g.items(cmd, cfg, st, f)
	if err != nil {
		return err
	}
	var total int64
	for _, it := range items {
		total += it.Size
	}
	o := restore.Options{Client: st.client, Bucket: cfg.Storage.Bucket, Dest: config.ExpandHome(dest), Overwrite: overwrite,
		Workers: cfg.Storage.Concurrency.Files, BandwidthLimit: int64(cfg.Storage.BandwidthLimit), Log: log}
	var pb *progressbar.ProgressBar
	if bar {
		var done atomic.Int64
		pb = progressbar.NewOptions64(total, progressbar.OptionSetWriter(g.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetDescription(fmt.Sprintf("0/%d files", len(items))))
		o.Progress = func(n int64) { pb.Add64(n) }
		o.FileDone = func() { pb.Describe(fmt.Sprintf("%d/%d files", done.Add(1), len(items))) }
	}
	start := time.Now()
	sum := restore.Restore(cmd.Context(), items, o)
	if pb != nil {
		pb.Finish()
		fmt.Fprintln(g.stderr)
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
