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
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
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
--yes. Right before removing, it checks again that no file of this device
and no other device's manifest holds them. Nothing else ever removes a
stored object. Thumbnails are kept: they are shared by content. It needs a
key template that names {device}, and static storage credentials for now:
the account service does not let a device remove objects.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if before == "" {
				return usageError(errors.New("--deleted-before is required, e.g. --deleted-before 90d"))
			}
			age, err := parseAge(before)
			if errors.Is(err, errTooOld) {
				return usageError(fmt.Errorf("--deleted-before %q: at most 100 years (36525d)", before))
			}
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

// maxAge bounds --deleted-before: beyond it a typo, and days times 24
// hours would overflow to a cut-off in the future.
const maxAge = 36525 * 24 * time.Hour

// parseAge reads an age in days ("90d") or as a Go duration ("36h"), of at
// most 100 years.
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(d, "-") {
			return 0, errTooOld
		}
		if err != nil || n < 0 {
			return 0, errors.New("bad days")
		}
		if n > int64(maxAge/(24*time.Hour)) {
			return 0, errTooOld
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	if d > maxAge {
		return 0, errTooOld
	}
	return d, nil
}

var errTooOld = errors.New("more than 100 years")

// pruned is an object prune removes.
type pruned struct {
	key  string
	size int64
	gone time.Time
}

// pruneBatch is how many objects are removed between two checks that
// their files did not come back.
const pruneBatch = 100

func (g *globals) prune(cmd *cobra.Command, cfg *config.Agent, cut time.Time, dryRun, yes bool) error {
	ctx := cmd.Context()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	if be.client == nil {
		return usageError(errors.New("prune works with static storage credentials only: the account service does not let a device remove objects (storage.credentials.mode: account)"))
	}
	kt := keyTemplate(cfg, be.bucket)
	if !strings.Contains(kt.Template, "{device}") {
		return usageError(fmt.Errorf("prune works only with a key template that names {device}: under shared keys another device may hold a photo this one deleted (storage.key_template %q)", kt.Template))
	}
	unlock, err := lockPrune(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return fmt.Errorf("prune reads this device's journal in %s: %w", cfg.StateDir, err)
	}
	defer j.Close()
	device := cfg.Device.Name
	// The device's manifest is made afresh from the journal (and the one
	// in the bucket), not read: a key the device took up again since the
	// agent last wrote it is not removed. Nothing is written before the
	// removal: a dry run writes nothing to the storage.
	mw := &agent.ManifestWriter{Storage: be.st, Journal: j, Keys: kt, StateDir: cfg.StateDir, Log: log}
	if dryRun {
		mw.Log = zerolog.Nop() // it writes nothing: what it would replace is not news
	}
	if _, err := j.SyncLiveKeys(ctx, time.Now()); err != nil {
		return err
	}
	own, err := mw.Build(ctx, time.Now())
	if err != nil {
		if manifest.IsNewer(err) {
			return &exitError{exitFailed, fmt.Errorf("prune: the %w", err)}
		}
		return storageFailure(err)
	}
	set, err := otherManifests(ctx, be.st, kt, device, log)
	if err != nil {
		return err
	}
	set[device] = own
	kp := kt.Parser()
	var todo []pruned
	var already []string // removed before (a prune stopped partway)
	var total int64
	for _, e := range own.Keys {
		gone := e.Ended()
		if gone.IsZero() || !gone.Before(cut) || set.LiveElsewhere(e.Key, device) {
			continue
		}
		if p, ok := kp.Parse(e.Key); !ok || p.Device != device || !strings.HasPrefix(e.Key, kt.UserPrefix()) {
			continue // not a key this device's template makes for it
		}
		o, err := be.st.Stat(ctx, e.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			already = append(already, e.Key)
			continue
		case err != nil:
			return storageFailure(err)
		}
		todo = append(todo, pruned{key: e.Key, size: o.Size, gone: gone})
		total += o.Size
	}
	if len(todo) == 0 {
		fmt.Fprintf(g.stdout, "nothing to prune: no stored file of %s was deleted or renamed away before %s\n", device, cut.Format(time.DateTime))
		if !dryRun && len(already) > 0 {
			g.forgetPruned(ctx, j, mw, log, already)
		}
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
	// For tests only: the time a user takes to answer, during which a
	// file may come back.
	if d, err := time.ParseDuration(os.Getenv("CLOUDKEEP_TEST_PRUNE_WAIT")); err == nil && d > 0 {
		time.Sleep(d)
	}
	removed := already
	var bytes int64
	var kept []string
	var failed error
	for start := 0; start < len(todo) && failed == nil; start += pruneBatch {
		batch := todo[start:min(start+pruneBatch, len(todo))]
		back, err := cameBack(ctx, j, be.st, kt, device, batch, log)
		if err != nil {
			failed = err
			break
		}
		for _, p := range batch {
			if back[p.key] {
				kept = append(kept, p.key)
				continue
			}
			if err := be.client.RemoveObject(ctx, cfg.Storage.Bucket, p.key, minio.RemoveObjectOptions{}); err != nil {
				failed = fmt.Errorf("remove %s: %w", p.key, err)
				break
			}
			removed = append(removed, p.key)
			bytes += p.size
		}
	}
	g.forgetPruned(ctx, j, mw, log, removed)
	fmt.Fprintf(g.stdout, "removed %d object(s), %s; thumbnails are kept\n", len(removed)-len(already), humanize.IBytes(uint64(bytes)))
	if len(kept) > 0 {
		fmt.Fprintf(g.stdout, "kept %d object(s) whose files came back since they were listed: %s\n", len(kept), firstFew(kept))
	}
	if failed != nil {
		return &exitError{exitFailed, storageFailure(failed)}
	}
	return nil
}

// forgetPruned has the journal and the manifest forget keys whose objects
// are gone.
func (g *globals) forgetPruned(ctx context.Context, j *journal.Journal, mw *agent.ManifestWriter, log zerolog.Logger, keys []string) {
	if len(keys) == 0 {
		return
	}
	if err := j.ForgetLiveKeys(ctx, keys); err != nil {
		log.Warn().Err(err).Msg("the journal still names the removed objects")
	} else if _, err := mw.Write(ctx, true); err != nil {
		log.Warn().Str("error", storage.Short(err)).Msg("could not write the manifest: it still names the removed objects until the agent writes it")
	}
}

// otherManifests reads the manifests of the devices other than device. An
// unreadable one is said and left out: under a template that names
// {device} no other device holds this one's keys.
func otherManifests(ctx context.Context, st storage.Storage, kt agent.KeyTemplate, device string, log zerolog.Logger) (manifest.Set, error) {
	set, unreadable, err := restore.Manifests(ctx, st, kt.UserPrefix())
	if err != nil {
		return nil, storageFailure(err)
	}
	for d, err := range unreadable {
		if d != device {
			log.Warn().Str("device", d).Str("error", err.Error()).Msg("the manifest of another device cannot be read")
		}
	}
	delete(set, device)
	return set, nil
}

// cameBack returns the keys of batch that became live again since they
// were listed: a file of this device holds one again (its journal says),
// or another device's manifest holds it.
func cameBack(ctx context.Context, j *journal.Journal, st storage.Storage, kt agent.KeyTemplate, device string, batch []pruned, log zerolog.Logger) (map[string]bool, error) {
	if _, err := j.SyncLiveKeys(ctx, time.Now()); err != nil {
		return nil, err
	}
	keys := make([]string, len(batch))
	for i, p := range batch {
		keys[i] = p.key
	}
	back, err := j.OpenKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	set, err := otherManifests(ctx, st, kt, device, log)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if set.LiveElsewhere(k, device) {
			back[k] = true
		}
	}
	return back, nil
}

// configureManifest has the agent keep its manifest in the storage.
func configureManifest(a *agent.Agent, cfg *config.Agent, be *backend) error {
	a.ManifestStorage = be.st
	return nil
}
