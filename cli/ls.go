package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/manifest"
	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

// restoreFlags select what ls and restore act on.
type restoreFlags struct {
	device, prefix, since, until string
	asOf                         string // the state at this day or instant, by the manifests
	all                          bool   // every version ever stored, not the state
	verb                         string // "restoring" or "listing", for the notes
}

func (f *restoreFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.device, "device", "", "only this device's files")
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "only paths starting with this (below the account, e.g. laptop/pictures/2024/)")
	cmd.Flags().StringVar(&f.since, "since", "", "only files taken on or after this day (YYYY-MM-DD, local time; by capture time, else modification time)")
	cmd.Flags().StringVar(&f.until, "until", "", "only files taken on or before this day (YYYY-MM-DD, the whole day, local time)")
	cmd.Flags().StringVar(&f.asOf, "as-of", "", "the files the devices held at the end of this day (YYYY-MM-DD, local time) or at this time (RFC 3339), instead of now")
	cmd.Flags().BoolVar(&f.all, "all", false, "every file ever stored: also those deleted or renamed since on their device")
}

// state is the restore.State that f asks for; nil with --all.
func (f restoreFlags) state() (*restore.State, error) {
	switch {
	case f.all && f.asOf != "":
		return nil, usageError(errors.New("--all and --as-of do not go together: --all is every file ever stored, --as-of the files of one day"))
	case f.all:
		return nil, nil
	case f.asOf == "":
		return &restore.State{}, nil
	}
	at, err := manifest.ParseAsOf(f.asOf)
	if err != nil {
		return nil, usageError(fmt.Errorf("--as-of %q: want a date such as 2026-03-01 or a time such as 2026-03-01T18:00:00+01:00", f.asOf))
	}
	return &restore.State{At: at}, nil
}

// filter is the restore.Filter of the dates (the device is the key's, see
// items).
func (f restoreFlags) filter() (restore.Filter, error) {
	var filter restore.Filter
	if f.since != "" {
		from, _, err := restore.Day(f.since)
		if err != nil {
			return filter, usageError(fmt.Errorf("--since %q: want a date such as 2024-06-01", f.since))
		}
		filter.Since = from
	}
	if f.until != "" {
		_, next, err := restore.Day(f.until)
		if err != nil {
			return filter, usageError(fmt.Errorf("--until %q: want a date such as 2024-06-30", f.until))
		}
		filter.Until = next
	}
	if f.since != "" && f.until != "" && !filter.Since.Before(filter.Until) {
		return filter, usageError(fmt.Errorf("--since %s is after --until %s: no day is in between", f.since, f.until))
	}
	return filter, nil
}

// selection is what the flags select, and the partners the selection
// brings along (restore --group-aware).
type selection struct {
	items    []restore.Item // in key order, partners included
	partners int
	left     int // stored files left out: deleted or renamed away by then
	notYet   int // stored files left out: stored after --as-of
}

// items lists the stored files of this account (or static user) that f
// selects; with groups, also the other files of each selected file's group.
func (g *globals) items(cmd *cobra.Command, cfg *config.Agent, be *backend, f restoreFlags, groups bool) (sel selection, err error) {
	filter, err := f.filter()
	if err != nil {
		return selection{}, err
	}
	if err := be.requireSignIn(cmd.Context()); err != nil {
		return selection{}, err
	}
	state, err := f.state()
	if err != nil {
		return selection{}, err
	}
	kt := keyTemplate(cfg, be.bucket)
	base := kt.UserPrefix()
	if state != nil {
		if state.Set, state.Unreadable, err = restore.Manifests(cmd.Context(), be.st, base); err != nil {
			return selection{}, storageFailure(err)
		}
	}
	l := lister{ctx: cmd.Context(), st: be.st, base: base, kp: kt.Parser(), seen: map[string]bool{}, state: state}
	if err := l.list(f.prefix); err != nil {
		return selection{}, err
	}
	defer g.stateNotes(state, f, base, l.seen)
	defer func() {
		if state != nil {
			sel.left, sel.notYet = state.Left, state.NotYet
		}
	}()
	filter.Device = f.device
	sel = selection{items: filter.Select(l.all)}
	if !groups {
		return sel, nil
	}
	if err := l.listPartners(f.prefix, sel.items, strings.Contains(kt.Template, "{path}")); err != nil {
		return selection{}, err
	}
	partners := restore.Partners(l.all, sel.items)
	if f.device != "" {
		partners = restore.Filter{Device: f.device}.Select(partners)
	}
	sel.partners = len(partners)
	sel.items = append(sel.items, partners...)
	slices.SortFunc(sel.items, func(a, b restore.Item) int { return strings.Compare(a.Key, b.Key) })
	return sel, nil
}

// lister gathers the listings of one account's prefixes.
type lister struct {
	ctx    context.Context
	st     storage.Storage
	base   string
	kp     agent.KeyParser
	all    []restore.Item
	seen   map[string]bool // keys
	listed []string        // prefixes below base
	state  *restore.State  // keeps the items of the state asked for; nil: all
}

// list adds the items under base+under, each with the device its key names.
func (l *lister) list(under string) error {
	for _, p := range l.listed {
		if strings.HasPrefix(under, p) {
			return nil
		}
	}
	items, err := restore.List(l.ctx, l.st, l.base, under)
	if err != nil {
		return storageFailure(err)
	}
	l.listed = append(l.listed, under)
	for _, it := range items {
		if l.seen[it.Key] {
			continue
		}
		l.seen[it.Key] = true
		if p, ok := l.kp.Parse(it.Key); ok && p.Device != "" {
			it.Device = p.Device // what the path says, whatever the metadata
		}
		if l.state != nil && !l.state.Keep(it) {
			continue
		}
		l.all = append(l.all, it)
	}
	return nil
}

// listPartners lists where the partners of the selected files may be that
// the listing of under left out: with {path} in the key template a group's
// files share a folder, else they may be anywhere in the account.
func (l *lister) listPartners(under string, selected []restore.Item, byFolder bool) error {
	if under == "" {
		return nil // the whole account is listed
	}
	for _, it := range selected {
		if it.Group == "" {
			continue
		}
		folder := "" // the whole account
		if i := strings.LastIndex(it.Key, "/"); byFolder && i >= len(l.base) {
			folder = it.Key[len(l.base) : i+1]
		}
		if err := l.list(folder); err != nil {
			return err
		}
	}
	return nil
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
				if cmd.Flags().Changed("prefix") {
					return usageError(fmt.Errorf("give the prefix once: as PREFIX (%q) or with --prefix (%q)", args[0], f.prefix))
				}
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
			sel, err := g.items(cmd, cfg, be, f, false)
			if err != nil {
				return err
			}
			items := sel.items
			if asJSON {
				if items == nil {
					items = []restore.Item{} // [], not null
				}
				err = writeJSON(g.stdout, items)
			} else {
				printItems(g.stdout, items, long)
			}
			if err == nil && len(items) == 0 {
				err = &exitError{exitFailed, stateHint(lsNoMatch(f), f, sel.left, sel.notYet)}
			}
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&long, "long", "l", false, "capture times, sizes and devices")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printItems writes one line per asset: a file, or the files of one group
// (the main one, then "+ " and the others, then what the group is); with
// --long its capture time, size and device first, and a total. A name
// with a control character or a byte that is not UTF-8 is printed quoted,
// as Go quotes strings.
func printItems(w io.Writer, items []restore.Item, long bool) {
	var total int64
	for _, a := range restore.Assets(items) {
		total += a.Size()
		line := assetLine(a)
		if long {
			it := a.Main()
			line = fmt.Sprintf("%10s  %-25s  %-12s  %s", humanize.IBytes(uint64(a.Size())), captureTime(it), shown(it.Device), line)
		}
		fmt.Fprintln(w, line)
	}
	if long {
		fmt.Fprintf(w, "%d file(s), %s\n", len(items), humanize.IBytes(uint64(total)))
	}
}

// assetLine is the path of the asset's main file, then its partners (by
// name when in the same folder) and its kind: "2024/IMG_0001.HEIC +
// IMG_0001.MOV (Live Photo)".
func assetLine(a restore.Asset) string {
	main := a.Main().Rel
	line := shown(main)
	var names []string
	for _, p := range a.Partners() {
		name := p.Rel
		if dir := main[:strings.LastIndex(main, "/")+1]; strings.HasPrefix(name, dir) && !strings.Contains(name[len(dir):], "/") {
			name = name[len(dir):]
		}
		names = append(names, shown(name))
	}
	if len(names) > 0 {
		line += " + " + strings.Join(names, ", ")
	}
	if kind := a.Kind(); kind != "" {
		line += " (" + kind + ")"
	}
	return line
}

// captureTime shows when the file was taken as it was taken: with the
// offset of the camera's clock when the camera or the video said it, else
// with where it came from (the file name, in its own wall clock; the
// modification or storage time, in this machine's).
func captureTime(it restore.Item) string {
	const minute = "2006-01-02 15:04"
	switch it.CaptureSource {
	case wire.CaptureEXIF, wire.CaptureVideo:
		return it.Capture.Format(minute + " -07:00")
	case wire.CaptureName:
		return it.Capture.Format(minute) + " (name)"
	case "":
		return it.Capture.Format(minute)
	}
	return it.Capture.Local().Format(minute) + " (" + it.CaptureSource + ")"
}

// shown is s, quoted when printing it as it is could split a line or
// reach the terminal as a control sequence.
func shown(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// selection names the flags that select files, for a message; the prefix
// is called prefixName.
func (f restoreFlags) selection(prefixName string) []string {
	var sel []string
	if f.device != "" {
		sel = append(sel, fmt.Sprintf("--device %q", f.device))
	}
	if f.prefix != "" {
		sel = append(sel, fmt.Sprintf("%s %q", prefixName, f.prefix))
	}
	if f.since != "" {
		sel = append(sel, "--since "+f.since)
	}
	if f.until != "" {
		sel = append(sel, "--until "+f.until)
	}
	if f.asOf != "" {
		sel = append(sel, "--as-of "+f.asOf)
	}
	return sel
}

// lsNoMatch says that the selection holds no file.
func lsNoMatch(f restoreFlags) error {
	sel := f.selection("prefix")
	if len(sel) == 0 {
		return errors.New("this account has no backed-up files")
	}
	return fmt.Errorf("no backed-up file matches %s", strings.Join(sel, " "))
}

// stateNotes says on stderr which devices have no manifest (all their
// stored files were taken), and which files the manifests hold that the
// storage no longer does (not an error for the others).
func (g *globals) stateNotes(state *restore.State, f restoreFlags, base string, seen map[string]bool) {
	if state == nil {
		return
	}
	verb := cmp.Or(f.verb, "listing")
	for _, d := range slices.Sorted(maps.Keys(state.Unreadable)) {
		if f.device != "" && d != f.device {
			continue
		}
		fmt.Fprintf(g.stderr, "the manifest of %s cannot be read (%v): %s every stored version of %s\n", d, state.Unreadable[d], verb, d)
	}
	for _, d := range slices.Sorted(maps.Keys(state.LeftBy)) {
		if f.device != "" && d != f.device {
			continue
		}
		name := cmp.Or(d, "no named device")
		how := "--as-of DAY or --all brings them"
		if f.asOf != "" {
			how = "--all brings them"
		}
		fmt.Fprintf(g.stderr, "left out %d file(s) deleted or renamed away on %s: %s\n", state.LeftBy[d], name, how)
	}
	for _, d := range state.Unknown {
		if f.device != "" && d != f.device {
			continue
		}
		name := d
		if d == "" {
			name = "files of no named device"
		}
		fmt.Fprintf(g.stderr, "no manifest for %s: %s every stored version; the agent (or cloudkeep backup) of that device writes one\n", name, verb)
	}
	missing := state.Missing(base+f.prefix, seen)
	for _, d := range slices.Sorted(maps.Keys(missing)) {
		if f.device != "" && d != f.device {
			continue
		}
		keys := missing[d]
		fmt.Fprintf(g.stderr, "%s: %d file(s) of its manifest are no longer in the storage: %s\n", d, len(keys), firstFew(keys))
	}
}

// stateHint adds to err, a selection that holds nothing, that left stored
// files were left out as deleted or renamed away, and how to have them.
func stateHint(err error, f restoreFlags, left, notYet int) error {
	if left == 0 && notYet == 0 {
		return err
	}
	if left == 0 {
		return fmt.Errorf("%w: no stored file existed on its device at %s (%d stored later): a later --as-of, or --all for every file ever stored", err, f.asOf, notYet)
	}
	how := "--as-of DAY for the files of an earlier day, --all for every file ever stored"
	when := "now"
	if f.asOf != "" {
		how, when = "--all for every file ever stored", "at "+f.asOf
	}
	if f.device == "" && f.prefix == "" && f.since == "" && f.until == "" {
		what := "nothing to list"
		if f.verb == "restoring" {
			what = "nothing to restore"
		}
		return fmt.Errorf("%s: no stored file was on its device %s (%d deleted or renamed away there): %s", what, when, left, how)
	}
	return fmt.Errorf("%w; %d stored file(s) were deleted or renamed away on their device (%s): %s", err, left, when, how)
}
