package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	var filter restore.Filter // the device is the key's, below
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
	kp := keyTemplate(cfg, be.bucket).Parser()
	out := items[:0]
	for _, it := range items {
		it.Rel = f.prefix + it.Rel // relative to the account, whatever the prefix
		if p, ok := kp.Parse(it.Key); ok && p.Device != "" {
			it.Device = p.Device // what the path says, whatever the metadata
		}
		if f.device == "" || it.Device == f.device {
			out = append(out, it)
		}
	}
	return out, nil
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
			items, err := g.items(cmd, cfg, be, f)
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []restore.Item{} // [], not null
				}
				err = writeJSON(g.stdout, items)
			} else {
				printItems(g.stdout, items, long)
			}
			if err == nil && len(items) == 0 {
				err = &exitError{exitFailed, lsNoMatch(f)}
			}
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&long, "long", "l", false, "sizes, modification times and devices")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printItems writes one line per item (with --long its size, modification
// time and device, and a total); a name with a control character or a
// byte that is not UTF-8 is printed quoted, as Go quotes strings.
func printItems(w io.Writer, items []restore.Item, long bool) {
	var total int64
	for _, it := range items {
		total += it.Size
		if long {
			fmt.Fprintf(w, "%10s  %s  %-12s  %s\n", humanize.IBytes(uint64(it.Size)),
				it.MTime.Local().Format("2006-01-02 15:04"), shown(it.Device), shown(it.Rel))
		} else {
			fmt.Fprintln(w, shown(it.Rel))
		}
	}
	if long {
		fmt.Fprintf(w, "%d file(s), %s\n", len(items), humanize.IBytes(uint64(total)))
	}
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
