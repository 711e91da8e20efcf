package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/freeup"
)

type freeUpFlags struct {
	olderThan      string
	folder         string
	dryRun, yes    bool
	remove, detail bool
	readBack       bool
}

func freeUpCmd(g *globals) *cobra.Command {
	var f freeUpFlags
	cmd := &cobra.Command{
		Use:   "free-up",
		Short: "Move files whose backup is proven to the trash, to free local space",
		Long: `Frees local space: moves to the system trash the photos and videos whose
backup is proven — the object is in the storage under the file's key, with
the file's size and the SHA-256 of the file read now — and that were taken
more than --older-than ago (90d by default; 0 for any age). A file not
backed up yet, changed since its backup, or whose remote copy is missing or
differs stays, and so do the other files of its group (a Live Photo's still
and video, a RAW and its JPEG). It says what it would free and asks first,
unless --yes. The agent neither uploads freed files again nor takes them
for deleted; a file put back from the trash is backed up already.

The trash: ~/.local/share/Trash (freedesktop.org; a file on another file
system goes to that volume's .Trash-$UID) on Linux, ~/.Trash on macOS.
Windows has none here: use --delete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.freeUp(cmd, f) },
	}
	fl := cmd.Flags()
	// 90 days by default: the photos of the last months are the ones still
	// looked at on the device, and a free-up should not take them away.
	fl.StringVar(&f.olderThan, "older-than", "90d", "only files taken longer ago than this (e.g. 90d, 2w, 12h; 0: any age)")
	fl.StringVar(&f.folder, "folder", "", "only files in this folder (inside a watched folder)")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "list what would be freed, change nothing")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for a confirmation")
	fl.BoolVar(&f.remove, "delete", false, "delete the files instead of moving them to the trash")
	fl.BoolVar(&f.readBack, "read-back", false, "download each object and hash it before freeing its file, rather than trust its recorded checksum (slow, thorough)")
	fl.BoolVarP(&f.detail, "verbose", "v", false, "list every file freed and every file kept, with why")
	return cmd
}

func (g *globals) freeUp(cmd *cobra.Command, f freeUpFlags) error {
	ctx := cmd.Context()
	age, err := parseOlderThan(f.olderThan)
	if err != nil {
		return usageError(fmt.Errorf("--older-than %q: %w", f.olderThan, err))
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	scope := freeup.Scope{OlderThan: age, Now: time.Now()}
	if f.folder != "" {
		if scope.Root, scope.Dir, err = folderScope(cfg, f.folder); err != nil {
			return usageError(err)
		}
	}
	move, where, err := mover(f.remove)
	if err != nil {
		return usageError(err)
	}
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	if err := be.requireSignIn(ctx); err != nil {
		return err
	}
	if be.journal, err = openJournal(ctx, cfg); err != nil {
		return err
	}
	if !f.dryRun {
		unlock, err := freeup.Lock(cfg.StateDir)
		if err != nil {
			return err
		}
		defer unlock()
	}
	var roots []freeup.Root
	var paths []string
	for _, r := range cfg.Watch {
		roots = append(roots, freeup.Root{Name: r.Name, Path: r.Path})
		paths = append(paths, r.Path)
	}
	if t, err := freeup.SystemTrash(); err == nil && !f.dryRun {
		// A free-up killed between a .trashinfo and its move left one
		// whose file never went.
		for _, info := range t.Sweep(paths) {
			fmt.Fprintf(g.stderr, "removed %s: left by an interrupted free-up, its file is still in its folder\n", info)
		}
	}
	p := &freeup.Prover{Journal: be.journal, Storage: be.st, Roots: roots, ReadBack: f.readBack}
	plan, err := p.Plan(ctx, scope)
	if err != nil {
		return err
	}
	printPlan(g.stdout, plan, age, f.dryRun || f.detail, f.detail)
	switch {
	case len(plan.Free) == 0:
	case f.readBack:
		fmt.Fprintln(g.stdout, "Proof: each object read back from the storage, its SHA-256 the file's.")
	default:
		fmt.Fprintln(g.stdout, "Proof: each object's size, SHA-256 and recorded checksum (CRC32C) match the file's; --read-back reads the objects back.")
	}
	switch {
	case len(plan.Free) == 0:
		fmt.Fprintln(g.stdout, "Nothing to free.")
		return nil
	case f.dryRun:
		fmt.Fprintln(g.stdout, "Dry run: nothing changed.")
		return nil
	}
	action := fmt.Sprintf("move %s (%s) to the trash", fileCount(len(plan.Free)), sizeText(plan.Bytes()))
	if f.remove {
		action = fmt.Sprintf("delete %s (%s) for good", fileCount(len(plan.Free)), sizeText(plan.Bytes()))
	}
	if !f.yes {
		in, ok := cmd.InOrStdin().(*os.File)
		if !ok || !term.IsTerminal(int(in.Fd())) {
			return usageError(fmt.Errorf("free-up would %s: with no terminal to ask on, run it again with --yes", action))
		}
		asked := time.Now()
		if !confirm(g.stdout, in, strings.ToUpper(action[:1])+action[1:]+"?") {
			fmt.Fprintln(g.stdout, "Nothing changed.")
			return nil
		}
		if time.Since(asked) > recheckAfter {
			n := len(plan.Free)
			if plan = freeup.Recheck(plan); len(plan.Free) < n {
				fmt.Fprintf(g.stdout, "Read again after the wait: %s kept, changed meanwhile (or of a group with one that did).\n", fileCount(n-len(plan.Free)))
			}
		}
	}
	res, err := freeup.Free(ctx, be.journal, plan, move)
	return reportFreed(g.stdout, g.stderr, res, err, f.remove, where, f.detail)
}

// recheckAfter is how long a confirmation may wait before the files are
// read again: the person may have edited one meanwhile.
const recheckAfter = 10 * time.Second

// mover returns how files leave the disk, and where to, for the report.
func mover(remove bool) (freeup.Mover, string, error) {
	if remove {
		return freeup.Delete, "", nil
	}
	t, err := freeup.SystemTrash()
	if err != nil {
		return nil, "", err
	}
	return t.Move, t.Home, nil
}

// folderScope turns --folder into a watched folder's name and a folder
// inside it.
func folderScope(cfg *config.Agent, folder string) (root, dir string, err error) {
	abs, err := filepath.Abs(folder)
	if err != nil {
		return "", "", err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("--folder %s: not a folder", folder)
	}
	real, err := filepath.EvalSymlinks(abs) // a link into a watched folder: where it leads
	if err != nil {
		return "", "", fmt.Errorf("--folder %s: %w", folder, err)
	}
	var watched []string
	for _, w := range cfg.Watch {
		for _, p := range []string{abs, real} {
			if rel, ok := inside(w.Path, p); ok {
				return w.Name, rel, nil
			}
		}
		watched = append(watched, w.Path)
	}
	return "", "", fmt.Errorf("--folder %s: not inside a watched folder (%s)", folder, strings.Join(watched, ", "))
}

// inside returns path relative to the watched folder root, slash
// separated ("" for root itself), when it is in it; the watched folder
// too may be a link.
func inside(root, path string) (string, bool) {
	for _, r := range []string{root, evalOr(root)} {
		rel, err := filepath.Rel(r, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if rel == "." {
				rel = ""
			}
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

// evalOr returns path with its links resolved, or path when that fails.
func evalOr(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// parseOlderThan reads --older-than: a number of days ("90d") or weeks ("2w"),
// or a Go duration ("36h"); "0" is any age.
func parseOlderThan(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, errors.New("not an age (use e.g. 90d, 2w, 12h, or 0 for any age)")
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("not an age (use e.g. 90d, 2w, 12h, or 0 for any age)")
	}
	return d, nil
}

// keptOrder is the order of the reasons in the summary.
var keptOrder = []freeup.Reason{freeup.NotBackedUp, freeup.LeftOut, freeup.Changed, freeup.NotOnDisk,
	freeup.Unreadable, freeup.RemoteMissing, freeup.RemoteDiffers, freeup.PartnerKept, freeup.PartnerUnproven,
	freeup.Symlink, freeup.HardLinked}

// printPlan says what free-up would free and what it keeps: the counts,
// and with list each file to free, with kept each file kept and why.
func printPlan(w io.Writer, p freeup.Plan, age time.Duration, list, kept bool) {
	if list {
		for _, it := range p.Free {
			fmt.Fprintf(w, "  free  %s  (%s, %s)\n", it.Abs, sizeText(it.Size), it.When.Format(time.DateOnly))
		}
	}
	if kept {
		for _, it := range p.Kept {
			line := fmt.Sprintf("  keep  %s: %s", it.Abs, it.Reason)
			if it.Detail != "" {
				line += " (" + it.Detail + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	when := "of any age"
	if age > 0 {
		when = "taken more than " + ageText(age) + " ago"
	}
	fmt.Fprintf(w, "Proven backed up, %s: %s (%s).\n", when, fileCount(len(p.Free)), sizeText(p.Bytes()))
	if p.Recent > 0 {
		fmt.Fprintf(w, "Left alone: %s taken in the last %s (see --older-than).\n", fileCount(p.Recent), ageText(age))
	}
	if len(p.Kept) == 0 {
		return
	}
	by := p.KeptBy()
	var parts []string
	for _, r := range keptOrder {
		if n := by[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	fmt.Fprintf(w, "Kept %s: %s.\n", fileCount(len(p.Kept)), strings.Join(parts, ", "))
}

// reportFreed says what Free did; a file that could not be freed makes
// the command fail.
func reportFreed(out, errw io.Writer, res freeup.Result, err error, remove bool, where string, list bool) error {
	var n int64
	var trashes []string // every trash used: a file on another volume goes to that volume's
	for _, f := range res.Freed {
		n += f.Size
		if list && f.To != "" {
			fmt.Fprintf(out, "  moved %s → %s\n", f.Abs, f.To)
		}
		if t := filepath.Dir(filepath.Dir(f.To)); f.To != "" && !slices.Contains(trashes, t) {
			trashes = append(trashes, t)
		}
	}
	if len(trashes) > 0 {
		where = strings.Join(trashes, ", ")
	}
	switch {
	case remove:
		fmt.Fprintf(out, "Deleted %s (%s).\n", fileCount(len(res.Freed)), sizeText(n))
	default:
		fmt.Fprintf(out, "Moved %s (%s) to the trash (%s).\n", fileCount(len(res.Freed)), sizeText(n), where)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(errw, "not freed: %v\n", f.Err)
	}
	if err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("%s not freed", fileCount(len(res.Failed)))
	}
	return nil
}

// confirm asks question on w and reads the answer from in: yes only for
// "y" or "yes".
func confirm(w io.Writer, in io.Reader, question string) bool {
	fmt.Fprintf(w, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

func fileCount(n int) string {
	if n == 1 {
		return "1 file"
	}
	return strconv.Itoa(n) + " files"
}

func sizeText(n int64) string { return humanize.IBytes(uint64(n)) }

// ageText writes an age in days when it is whole days.
func ageText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if days := d / (24 * time.Hour); days == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", days)
		}
	}
	return d.String()
}
