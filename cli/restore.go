package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/restore"
)

// restoreTo is where a restore puts the files: below dest, or back into
// the watched roots.
type restoreTo struct {
	dest       string
	toRoots    bool
	overwrite  bool
	groupAware bool // restore the partners of the selected files too
}

func restoreCmd(g *globals) *cobra.Command {
	f := restoreFlags{verb: "restoring"}
	var to restoreTo
	cmd := &cobra.Command{
		Use:   "restore {DEST | --to-roots}",
		Short: "Bring backed-up photos and videos back, verified byte for byte",
		Long: `Downloads every backed-up file of this account (or those --device, --prefix,
--since and --until select, with the other files of their groups: a Live
Photo's video, a RAW file's JPEG, sidecars) into DEST, keeping the paths
below the account (DEST/<device>/<root>/...); or, with --to-roots, back into
the watched folder each came from: this device's files (or --device OTHER's,
whose roots go to this config's roots of the same name). --since and --until
go by when a photo or video was taken (its capture time), else by its
modification time. Each file is checked against its recorded SHA-256 before
it takes its place, and gets its original modification time. A file already
there with the same content is skipped; a different one is kept, and the
restored copy gets " (restored)" in its name unless --overwrite. Restored
files are recorded in the journal, so the backup never sends them again.
Run it again to finish an interrupted restore.

By default it restores the state of each device now: the files it holds,
as its manifest in the bucket says (renamed files under their new names
only, deleted files left out); --as-of DAY the state at the end of that
day (or at an RFC 3339 time); --all every file ever stored. A device
without a manifest has all its stored files restored, and it is said.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if to.toRoots && len(args) > 0 {
				return fmt.Errorf("--to-roots takes no DEST: the files go back to the watched folders they came from")
			}
			if to.toRoots {
				return nil
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if to.dest, err = checkDest(config.ExpandHome(args[0])); err != nil {
					return err
				}
			}
			return g.restore(cmd, cfg, f, to)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&to.toRoots, "to-roots", false, "put each file back into the watched folder it came from")
	cmd.Flags().BoolVar(&to.overwrite, "overwrite", false, "replace different files at the same paths")
	cmd.Flags().BoolVar(&to.groupAware, "group-aware", true, "restore the other files of each selected file's group too (Live Photo video, RAW+JPEG, sidecars)")
	return cmd
}

func (g *globals) restore(cmd *cobra.Command, cfg *config.Agent, f restoreFlags, to restoreTo) error {
	ctx := cmd.Context()
	log, bar := g.barLogger(cfg)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	kt := keyTemplate(cfg, be.bucket)
	items, left, err := g.restoreItems(cmd, cfg, be, kt, f, to)
	if err != nil {
		return err
	}
	rec, err := recorder(ctx, cfg, kt)
	switch {
	case err != nil && to.toRoots:
		return err // without it the backup would send every file again
	case err != nil:
		log.Warn().Err(err).Msg("restored files are not recorded: the backup may store them again")
	default:
		defer rec.Journal.Close()
	}
	sum, elapsed := g.runRestore(ctx, cfg, be, items, to, rec, log, bar)
	fmt.Fprintf(g.stdout, "restored %d file(s), %s downloaded in %s; %d already in place, %d failed\n",
		sum.Restored, humanize.IBytes(uint64(sum.Bytes)), elapsed.Round(time.Millisecond), sum.Skipped, len(sum.Failed))
	for _, fl := range sum.Failed {
		fmt.Fprintf(g.stdout, "  failed: %s: %v\n", fl.Key, fl.Err)
	}
	left.print(g, cfg)
	switch {
	case ctx.Err() != nil:
		return &exitError{exitFailed, fmt.Errorf("restore interrupted: run it again to continue")}
	case len(sum.Failed) > 0:
		return &exitError{exitFailed, fmt.Errorf("%d file(s) not restored", len(sum.Failed))}
	case left.files() > 0:
		return &exitError{exitFailed, left.err()}
	}
	return nil
}

// checkDest refuses a DEST that is empty or not a folder (a usage error).
func checkDest(dest string) (string, error) {
	if dest == "" {
		return "", usageError(errors.New(`DEST is empty: give the folder to restore into, such as ~/restored ("." for this one)`))
	}
	if fi, err := os.Stat(dest); err == nil && !fi.IsDir() {
		return "", usageError(fmt.Errorf("DEST %s is not a folder", dest))
	}
	return dest, nil
}

// restoreItems lists what f selects and, with --to-roots, where each file
// goes and what cannot go anywhere. Nothing to restore is a failure.
func (g *globals) restoreItems(cmd *cobra.Command, cfg *config.Agent, be *backend, kt agent.KeyTemplate,
	f restoreFlags, to restoreTo) ([]restore.Item, notInRoots, error) {
	var left notInRoots
	if err := toRootsKeys(cfg, to); err != nil {
		return nil, left, err
	}
	sel, err := g.items(cmd, cfg, be, f, to.groupAware)
	if err != nil {
		return nil, left, err
	}
	if sel.partners > 0 {
		fmt.Fprintf(g.stdout, "+%d group %s of the selected files (--group-aware=false leaves them out)\n",
			sel.partners, plural(sel.partners, "partner", "partners"))
	}
	items := sel.items
	if to.toRoots {
		items, left = intoRoots(items, kt.Parser(), cmp.Or(f.device, cfg.Device.Name), roots(cfg))
	}
	switch {
	case len(items) == 0 && left.files() == 0:
		return nil, left, &exitError{exitFailed, stateHint(noMatch(cfg, f, to), f, sel.left, sel.notYet)}
	case len(items) == 0:
		left.print(g, cfg)
		return nil, left, &exitError{exitFailed, left.err()}
	}
	return items, left, nil
}

// toRootsKeys refuses --to-roots when the keys do not tell each file's
// folder: they need {root}, and {path} (a key made with {name} keeps the
// file's name alone).
func toRootsKeys(cfg *config.Agent, to restoreTo) error {
	kt := cfg.Storage.KeyTemplate
	switch {
	case !to.toRoots:
		return nil
	case !strings.Contains(kt, "{root}"):
		return usageError(fmt.Errorf("--to-roots needs {root} in storage.key_template (%q) to know each file's folder", kt))
	case !strings.Contains(kt, "{path}"):
		return usageError(fmt.Errorf("--to-roots needs {path} in storage.key_template (%q) to know each file's folder; restore into a folder instead: cloudkeep restore DEST", kt))
	}
	return nil
}

// runRestore restores items, with a progress bar when bar is set.
func (g *globals) runRestore(ctx context.Context, cfg *config.Agent, be *backend, items []restore.Item, to restoreTo,
	rec *restore.Recorder, log zerolog.Logger, bar bool) (restore.Summary, time.Duration) {
	o := restore.Options{Storage: be.st, Dest: to.dest, Overwrite: to.overwrite,
		Workers: cfg.Storage.Concurrency.Files, BandwidthLimit: int64(cfg.Storage.BandwidthLimit), Log: log}
	if rec != nil {
		o.Record = rec.Record
	}
	var p *barProgress
	if bar {
		var total int64
		for _, it := range items {
			total += it.Size
		}
		p = &barProgress{w: g.stderr, whole: true}
		p.Planned(len(items), total)
		o.Progress, o.FileDone = p.Add, p.FileDone
	}
	start := time.Now()
	sum := restore.Restore(ctx, items, o)
	if p != nil {
		p.finish()
	}
	return sum, time.Since(start)
}

// recorder opens the journal of cfg's state_dir, where restored files are
// recorded for the backup of this device (the agent may have it open too).
func recorder(ctx context.Context, cfg *config.Agent, kt agent.KeyTemplate) (*restore.Recorder, error) {
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rec := &restore.Recorder{Journal: j, Key: kt.Key}
	for _, r := range cfg.Watch {
		rec.Roots = append(rec.Roots, restore.Root{Name: r.Name, Path: r.Path})
	}
	return rec, nil
}

// notInRoots counts the files --to-roots leaves out: by root name, those of
// roots this config does not have, and those whose keys do not follow the
// key template.
type notInRoots struct {
	device  string
	byRoot  map[string]int
	foreign []string // keys
}

// intoRoots keeps the items of device, each with its Target in the watched
// folder of its root's name, and counts those it cannot place.
func intoRoots(items []restore.Item, kp agent.KeyParser, device string, watched []agent.Root) ([]restore.Item, notInRoots) {
	folder := map[string]string{}
	for _, r := range watched {
		folder[r.Name] = r.Path
	}
	left := notInRoots{device: device, byRoot: map[string]int{}}
	var out []restore.Item
	for _, it := range items {
		p, ok := kp.Parse(it.Key)
		switch {
		case !ok && it.Device == device:
			left.foreign = append(left.foreign, it.Key)
		case !ok: // another device's, or nobody knows whose
		case cmp.Or(p.Device, it.Device) != device: // another device's
		case folder[p.Root] == "":
			left.byRoot[p.Root]++
		default:
			it.Target = filepath.Join(folder[p.Root], filepath.FromSlash(path.Clean("/"+p.Path))) // never above the root
			out = append(out, it)
		}
	}
	return out, left
}

func (n notInRoots) files() int {
	total := len(n.foreign)
	for _, c := range n.byRoot {
		total += c
	}
	return total
}

// roots returns the names of the roots left out, sorted.
func (n notInRoots) roots() []string { return slices.Sorted(maps.Keys(n.byRoot)) }

// print lists what was left out, one line each.
func (n notInRoots) print(g *globals, cfg *config.Agent) {
	for _, root := range n.roots() {
		fmt.Fprintf(g.stdout, "  not restored: %d file(s) of root %q of device %q: this config watches no folder named %q\n",
			n.byRoot[root], root, n.device, root)
	}
	if len(n.foreign) > 0 {
		fmt.Fprintf(g.stdout, "  not restored: %d file(s) whose keys do not follow storage.key_template %q: %s\n",
			len(n.foreign), cfg.Storage.KeyTemplate, firstFew(n.foreign))
	}
}

func (n notInRoots) err() error {
	if len(n.byRoot) == 0 {
		return fmt.Errorf("%d file(s) not restored: their keys do not tell their folder", n.files())
	}
	var names []string
	for _, root := range n.roots() {
		names = append(names, fmt.Sprintf("%q", root))
	}
	return fmt.Errorf("%d file(s) not restored: no watched folder here is named %s; add one with that name under watch:, or restore them below a folder with 'cloudkeep restore DEST'",
		n.files(), strings.Join(names, ", "))
}

// noMatch says that the selection holds no file.
func noMatch(cfg *config.Agent, f restoreFlags, to restoreTo) error {
	sel := f.selection("--prefix")
	whose := "no backed-up file"
	if to.toRoots && f.device == "" {
		whose = fmt.Sprintf("no backed-up file of this device (%q)", cfg.Device.Name)
	}
	if len(sel) == 0 {
		if whose == "no backed-up file" {
			return errors.New("nothing to restore: this account has no backed-up files")
		}
		return errors.New("nothing to restore: " + whose)
	}
	return fmt.Errorf("nothing to restore: %s matches %s", whose, strings.Join(sel, " "))
}

// firstFew lists the first three names, quoted, and how many more.
func firstFew(names []string) string {
	var q []string
	for _, n := range names[:min(len(names), 3)] {
		q = append(q, strconv.Quote(n))
	}
	if len(names) > 3 {
		q = append(q, fmt.Sprintf("and %d more", len(names)-3))
	}
	return strings.Join(q, ", ")
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
