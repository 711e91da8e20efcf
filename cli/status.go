package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

func statusCmd(g *globals) *cobra.Command {
	var asJSON, watch bool
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the agent is doing: folders, queue, uploads, errors",
		Long: `Shows what the running agent is doing — folders, queue, uploads, the upload
rules, the last verify, alerts open — or, when none runs, what the journal
holds. With --watch it refreshes in place until interrupted (Ctrl-C).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if !watch {
				return g.status(cmd, cfg, g.stdout, asJSON)
			}
			if every < 100*time.Millisecond {
				return usageError(fmt.Errorf("--interval %s: at least 100ms", every))
			}
			return g.watchStatus(cmd, cfg, asJSON, every)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON (with --watch: one line per refresh)")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "refresh until interrupted")
	cmd.Flags().DurationVar(&every, "interval", 2*time.Second, "time between refreshes with --watch")
	return cmd
}

// status writes the agent's status, or the journal's when no agent runs,
// to w.
func (g *globals) status(cmd *cobra.Command, cfg *config.Agent, w io.Writer, asJSON bool) error {
	st, err := agent.NewClient(cfg.Control.Socket).Status(cmd.Context())
	if errors.Is(err, agent.ErrNotRunning) {
		return g.offlineStatus(cmd, cfg, w, asJSON)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(w, st)
	}
	printStatus(w, st, time.Now())
	return nil
}

// watchStatus shows the status every interval until the command's context
// ends (Ctrl-C), which is not an error. On a terminal each refresh
// replaces the last; elsewhere (a pipe, a log) they follow each other, as
// JSON one per line.
func (g *globals) watchStatus(cmd *cobra.Command, cfg *config.Agent, asJSON bool, every time.Duration) error {
	ctx := cmd.Context()
	inPlace := isTerminal(g.stdout) && !asJSON
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		var b strings.Builder
		err := g.status(cmd, cfg, &b, asJSON)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintf(&b, "status: %v\n", err) // an agent stopping or starting: the next refresh tells
		}
		out := b.String()
		switch {
		case inPlace:
			out = "\x1b[H\x1b[2J" + time.Now().Format(time.TimeOnly) + "  (every " + every.String() + "; Ctrl-C to stop)\n" + out
		case asJSON:
			out = compactJSON(out)
		default:
			out = "--- " + time.Now().Format(time.DateTime) + "\n" + out
		}
		if _, err := io.WriteString(g.stdout, out); err != nil {
			return err // the reader went away
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// compactJSON puts an indented JSON document on one line.
func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String() + "\n"
}

// offlineStatus reports from the journal when no agent runs.
func (g *globals) offlineStatus(cmd *cobra.Command, cfg *config.Agent, w io.Writer, asJSON bool) error {
	j, err := openJournalReadOnly(cmd.Context(), cfg)
	if errors.Is(err, journal.ErrNoJournal) {
		return g.noJournalStatus(cfg, w, asJSON)
	}
	if err != nil {
		return err
	}
	defer j.Close()
	totals, err := j.Totals(cmd.Context())
	if err != nil {
		return err
	}
	last, err := j.LastUploaded(cmd.Context())
	if err != nil {
		return err
	}
	lastErr, at, failed := lastErrorAt(cfg.StateDir)
	open := journalAlerts(cmd.Context(), j)
	if asJSON {
		out := map[string]any{"state": "not running", "journal": totals, "alerts": open}
		if !last.IsZero() {
			out["last_upload"] = last
		}
		if failed {
			out["last_error"], out["last_error_at"] = lastErr, at
		}
		return writeJSON(w, out)
	}
	fmt.Fprintln(w, "agent: not running (start it with `cloudkeep run` or `cloudkeep service start`)")
	printLastError(w, cfg.StateDir)
	printTotals(w, totals)
	fmt.Fprintf(w, "last upload: %s\n", when(last, time.Now()))
	printAlerts(w, agent.Status{Alerts: open}, time.Now())
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printTotals(w io.Writer, t journal.Totals) {
	fmt.Fprintf(w, "journal: %d file(s) backed up (%s)", t[journal.Done].Files, humanize.IBytes(uint64(t[journal.Done].Bytes)))
	for _, s := range []journal.State{journal.Pending, journal.Uploading, journal.Failed, journal.Skipped, journal.Deleted, journal.Freed} {
		if n := t[s].Files; n > 0 {
			fmt.Fprintf(w, ", %d %s", n, s)
		}
	}
	fmt.Fprintln(w)
}

func printStatus(w io.Writer, s agent.Status, now time.Time) {
	fmt.Fprintf(w, "agent: %s on %s, up %s\n", s.State, s.Device, now.Sub(s.StartedAt).Round(time.Second))
	if s.Account != "" {
		fmt.Fprintf(w, "account: %s\n", s.Account)
	}
	if st := s.Storage; !st.Reachable {
		fmt.Fprintf(w, "%s: %s unreachable since %s (%s): %s\n", cmp.Or(st.Server, storage.NameStorage), st.Endpoint,
			st.Since.Local().Format(time.TimeOnly), now.Sub(st.Since).Round(time.Second), st.LastError)
	}
	if s.StorageProblem != "" {
		fmt.Fprintln(w, s.StorageProblem)
	}
	if s.StateFull != "" {
		fmt.Fprintln(w, s.StateFull)
	}
	if s.State == agent.StateSignedOut {
		fmt.Fprintln(w, "signed out — run `cloudkeep login`; new files are noted and uploaded after it")
	}
	if s.Quota != "" {
		fmt.Fprintf(w, "%s — uploads wait until space frees (tried again every minute)\n", s.Quota)
	}
	fmt.Fprintln(w, "folders:")
	for _, r := range s.Roots {
		health := fmt.Sprintf("watching %d folder(s)", r.Watches)
		switch {
		case r.Note != "":
			health = "not visible: " + r.Note
		case !r.Exists:
			health = "missing (waiting for it to appear)"
		case r.Fallback:
			health += ", the rest scanned periodically (inotify watch limit reached)"
		}
		fmt.Fprintf(w, "  %-12s %s  %s\n", r.Name, r.Path, health)
	}
	q := s.Queue
	fmt.Fprintf(w, "queue: %d file(s), %s pending", q.Files, humanize.IBytes(uint64(q.Bytes)))
	if !q.OldestPending.IsZero() {
		fmt.Fprintf(w, ", oldest waiting %s", now.Sub(q.OldestPending).Round(time.Second))
	}
	if q.Retrying > 0 {
		fmt.Fprintf(w, ", %d waiting to retry", q.Retrying)
	}
	fmt.Fprintln(w)
	if len(s.Uploads) > 0 {
		fmt.Fprintln(w, "uploading:")
		for _, u := range s.Uploads {
			fmt.Fprintf(w, "  %s  %s %3.0f%% of %s", u.Key, bar(u.Percent, 20), u.Percent, humanize.IBytes(uint64(u.Size)))
			if u.Held != "" {
				fmt.Fprintf(w, " (held: %s)", u.Held)
			}
			fmt.Fprintln(w)
		}
	}
	t := s.Totals
	fmt.Fprintf(w, "since start: %d uploaded (%s), %d copied on the server, %d already stored, %d vanished, %d failed",
		t.Uploaded, humanize.IBytes(uint64(t.Bytes)), t.Copied, t.AlreadyStored, t.Vanished, t.Failed)
	if t.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped (taken before media.since)", t.Skipped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "last upload: %s\n", when(t.LastUpload, now))
	if len(s.Errors) > 0 {
		fmt.Fprintln(w, "recent errors:")
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  %s %s: %s\n", e.Time.Local().Format(time.TimeOnly), e.Path, e.Error)
		}
	}
	printRules(w, s, now)
	printVerify(w, s, now)
	printAlerts(w, s, now)
}

func bar(percent float64, width int) string {
	n := min(max(int(percent*float64(width)/100), 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// when says when t was, seen at now: the time and how long ago, the date
// for what was not today; "never" for zero.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	ago := now.Sub(t).Round(time.Second)
	if ago < 0 {
		ago = 0
	}
	if ago > time.Hour {
		ago = ago.Round(time.Minute)
	}
	layout := time.TimeOnly
	if y, m, d := t.Local().Date(); y != now.Local().Year() || m != now.Local().Month() || d != now.Local().Day() {
		layout = "2006-01-02 15:04"
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format(layout), ago)
}
