package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/manifest"
	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

func pruneCmd(g *globals) *cobra.Command {
	var before string
	var dryRun, yes bool
	cmd := &cobra.Command{
		Use:   "prune --deleted-before AGE",
		Short: "Remove stored objects of files deleted or renamed on this device long ago",
		Long: `Removes from the storage the objects of this device whose files were deleted
or renamed away on it before AGE ago (90d, 36h), as its journal and manifest
say, and that no other device's manifest holds. It shows what it would
remove first (count, bytes; every object with --dry-run) and asks, unless
--yes. Nothing else ever removes a stored object. Thumbnails are kept: they
are shared by content. Static storage credentials only for now: the
account service does not let a device remove objects.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if before == "" {
				return usageError(errors.New("--deleted-before is required, e.g. --deleted-before 90d"))
			}
			age, err := parseAge(before)
			if err != nil {
				return usageError(fmt.Errorf("--deleted-before %q: want an age such as 90d or 36h", before))
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			return g.prune(cmd, cfg, time.Now().Add(-age), dryRun, yes)
		},
	}
	cmd.Flags().StringVar(&before, "deleted-before", "", "remove the objects of files gone from this device at least this long ago (90d, 36h)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed; remove nothing")
	cmd.Flags().BoolVar(&yes, "yes", false, "remove without asking")
	return cmd
}

// parseAge reads an age in days ("90d") or as a Go duration ("36h").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

// pruned is an object prune removes.
type pruned struct {
	key  string
	size int64
	gone time.Time
}

func (g *globals) prune(cmd *cobra.Command, cfg *config.Agent, cut time.Time, dryRun, yes bool) error {
	ctx := cmd.Context()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	if be.client == nil {
		return &exitError{exitFailed, errors.New("prune works with static storage credentials only: the account service does not let a device remove objects (storage.credentials.mode: account)")}
	}
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return fmt.Errorf("prune reads this device's journal in %s: %w", cfg.StateDir, err)
	}
	defer j.Close()
	kt := keyTemplate(cfg, be.bucket)
	device := cfg.Device.Name
	// The manifest is brought up to date first: a key the device took up
	// again since the agent last wrote it is not removed.
	mw := &agent.ManifestWriter{Storage: be.st, Journal: j, Keys: kt}
	if _, err := mw.Write(ctx, true); err != nil {
		return storageFailure(err)
	}
	set, err := restore.Manifests(ctx, be.st, kt.UserPrefix())
	if err != nil {
		return storageFailure(err)
	}
	if err := sharedKeysCovered(ctx, be.st, kt, set); err != nil {
		return err
	}
	own := set[device]
	if own == nil {
		return fmt.Errorf("the manifest of %s is not in the storage after writing it", device)
	}
	var todo []pruned
	var total int64
	for _, e := range own.Keys {
		gone := e.Ended()
		if gone.IsZero() || !gone.Before(cut) || set.LiveElsewhere(e.Key, device) {
			continue
		}
		o, err := be.st.Stat(ctx, e.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // removed already
		case err != nil:
			return storageFailure(err)
		}
		todo = append(todo, pruned{key: e.Key, size: o.Size, gone: gone})
		total += o.Size
	}
	if len(todo) == 0 {
		fmt.Fprintf(g.stdout, "nothing to prune: no stored file of %s was deleted or renamed away before %s\n", device, cut.Format(time.DateTime))
		return nil
	}
	fmt.Fprintf(g.stdout, "%d object(s), %s, of files deleted or renamed away on %s before %s\n",
		len(todo), humanize.IBytes(uint64(total)), device, cut.Format(time.DateTime))
	if dryRun {
		for _, p := range todo {
			fmt.Fprintf(g.stdout, "  %s  %s  gone since %s\n", shown(p.key), humanize.IBytes(uint64(p.size)), p.gone.Format(time.DateTime))
		}
		fmt.Fprintln(g.stdout, "dry run: nothing removed")
		return nil
	}
	if !yes {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return usageError(errors.New("prune asks before removing, and no terminal is there to answer: run it with --yes to remove them, or --dry-run to list them"))
		}
		fmt.Fprint(g.stdout, "Remove them from the storage? This cannot be undone. [y/N] ")
		answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(g.stdout, "nothing removed")
			return nil
		}
	}
	var removed []string
	var bytes int64
	var failed error
	for _, p := range todo {
		if err := be.client.RemoveObject(ctx, cfg.Storage.Bucket, p.key, minio.RemoveObjectOptions{}); err != nil {
			failed = fmt.Errorf("remove %s: %w", p.key, err)
			break
		}
		removed = append(removed, p.key)
		bytes += p.size
	}
	mw.Forget(removed)
	if err := j.ForgetLiveKeys(ctx, removed); err != nil {
		log.Warn().Err(err).Msg("the journal still names the removed objects")
	} else if _, err := mw.Write(ctx, true); err != nil {
		log.Warn().Str("error", storage.Short(err)).Msg("could not write the manifest: it still names the removed objects until the agent writes it")
	}
	fmt.Fprintf(g.stdout, "removed %d object(s), %s; thumbnails are kept\n", len(removed), humanize.IBytes(uint64(bytes)))
	if failed != nil {
		return &exitError{exitFailed, storageFailure(failed)}
	}
	return nil
}

// configureManifest has the agent keep its manifest in the storage.
func configureManifest(a *agent.Agent, cfg *config.Agent, be *backend) error {
	a.ManifestStorage = be.st
	return nil
}

// sharedKeysCovered refuses to prune keys other devices may hold when the
// key template lets devices share keys ({device} does not come before the
// file's place) and a device that stored files has no manifest to say
// which it holds.
func sharedKeysCovered(ctx context.Context, st storage.Storage, kt agent.KeyTemplate, set manifest.Set) error {
	if kt.DeviceScoped() {
		return nil
	}
	items, err := restore.List(ctx, st, kt.UserPrefix(), "")
	if err != nil {
		return storageFailure(err)
	}
	for _, it := range items {
		if set[it.Device] == nil {
			name := it.Device
			if name == "" {
				name = "a device that did not name itself"
			}
			return &exitError{exitFailed, fmt.Errorf("prune: the files of %s (%s) have no manifest, and storage.key_template %q lets devices share keys: run cloudkeep backup once on every device of this account, then prune",
				name, it.Key, kt.Template)}
		}
	}
	return nil
}
