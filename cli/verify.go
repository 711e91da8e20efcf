package cli

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/verify"
)

type verifyOptions struct {
	repair, json, deep bool
}

func verifyCmd(g *globals) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare the folders, the journal and the storage, and say what is not backed up",
		Long: `Walks the watched folders, reads the journal and lists the objects under this
device's key prefix, and prints every difference, one a line:

  not_uploaded    a media file that is not stored: failed, pending, not seen
                  yet, excluded by a rule or skipped (media.since)
  missing_remote  the journal says stored, the object is gone
  size_mismatch   the object's size differs from the file's
  hash_mismatch   the object's sha256 differs from the file's (or another
                  writer replaced it); with --deep, also a local file whose
                  content differs from its backup, and an object whose
                  bytes differ though its metadata does not
  remote_only     an object no journal row holds (not a failure)

It exits 0 when every file that should be stored is, 1 otherwise.
--repair uploads again what can be, itself when no agent runs (then it
verifies again and exits by that), or through the running agent, which
only queues the files: it exits 1 then, until a verify finds them stored.
A key another device's file took (a key template without {device}) is
left to it: the file goes under a new key. Freed files (free-up) whose
object is gone cannot be repaired: they are in the trash; nor can files
--deep found damaged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.verify(cmd, o)
		},
	}
	cmd.Flags().BoolVar(&o.repair, "repair", false, "upload again the files that are missing, damaged or not uploaded")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the findings as JSON")
	cmd.Flags().BoolVar(&o.deep, "deep", false, "read every stored local file, and every object whose ETag changed since its upload, and compare their sha256 with the journal's")
	return cmd
}

// verifyOutput is what --json prints: the findings of the verify, and
// with --repair what the repair did.
type verifyOutput struct {
	verify.Report
	OK         bool          `json:"ok"` // after the repair, with --repair
	DurationMS int64         `json:"duration_ms"`
	Repair     *verifyRepair `json:"repair,omitempty"`
	asJSON     bool
}

// verifyRepair is what --repair did.
type verifyRepair struct {
	// By is "agent" when the running agent queued the files (they are
	// not uploaded yet), "verify" when verify uploaded them itself.
	By     string             `json:"by"`
	Queued int                `json:"queued"`
	Left   []agent.RepairLeft `json:"left,omitempty"`
	After  *verify.Report     `json:"after,omitempty"` // the verify after the uploads (by "verify")
}

// errQueued ends a repair through the agent: the files are queued, not
// stored yet.
var errQueued = errors.New("queued: run `cloudkeep verify` again once `cloudkeep status` shows the uploads done")

func (g *globals) verify(cmd *cobra.Command, o verifyOptions) error {
	ctx := cmd.Context()
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	client := agent.NewClient(cfg.Control.Socket)
	status, err := client.Status(ctx)
	running := err == nil
	start := time.Now()
	rep, err := g.verifyOnce(cmd, cfg, o.deep)
	if err != nil {
		return err
	}
	if running && rep.OK() && status.Verify != nil && status.Verify.Failing > 0 {
		// The agent's status still shows findings that are mended.
		if err := client.Verify(ctx); err != nil {
			fmt.Fprintf(g.stderr, "cloudkeep: could not ask the agent to verify again: %v\n", err)
		}
	}
	out := verifyOutput{Report: rep, OK: rep.OK(), DurationMS: time.Since(start).Milliseconds(), asJSON: o.json}
	files := repairable(rep)
	if !o.repair {
		return g.verifyDone(out, len(files))
	}
	if len(files) == 0 {
		out.Repair = &verifyRepair{By: "verify"}
		if !o.json && !rep.OK() {
			printFindings(g.stdout, out)
			return &exitError{exitFailed, errors.New("nothing verify can repair: see the lines above")}
		}
		return g.verifyDone(out, 0)
	}
	if !o.json {
		printFindings(g.stdout, out)
	}
	if err := g.correctMeta(cmd, cfg, rep); err != nil {
		return err
	}
	if running {
		return g.repairByAgent(cmd, client, out, files)
	}
	return g.repairHere(cmd, cfg, out)
}

// repairByAgent has the running agent queue files again. They are not
// stored yet when it answers: the exit is 1 (errQueued) unless nothing
// was queued and nothing fails.
func (g *globals) repairByAgent(cmd *cobra.Command, client *agent.Client, out verifyOutput, files []agent.RepairFile) error {
	res, err := client.Repair(cmd.Context(), files)
	if err != nil {
		return fmt.Errorf("ask the agent to repair: %w", err)
	}
	out.Repair = &verifyRepair{By: "agent", Queued: res.Queued, Left: res.Left}
	out.OK = false
	if out.asJSON {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "repair: the agent queued %d file(s) again; `cloudkeep status` shows the uploads\n", res.Queued)
		for _, l := range res.Left {
			fmt.Fprintf(g.stdout, "  left: %s: %s\n", shown(l.Root+"/"+l.Path), l.Why)
		}
	}
	if len(res.Left) > 0 || unrepairable(out.Report) > 0 {
		return &exitError{exitFailed, fmt.Errorf("some files cannot be repaired: see the findings; %w", errQueued)}
	}
	return &exitError{exitFailed, errQueued}
}

// verifyOnce reads the three views and compares them.
func (g *globals) verifyOnce(cmd *cobra.Command, cfg *config.Agent, deep bool) (verify.Report, error) {
	ctx := cmd.Context()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	be, err := openBackend(cfg, log)
	if err != nil {
		return verify.Report{}, err
	}
	defer be.Close()
	be.health.Logging(log.With().Str("component", "storage").Logger(), "cannot verify")
	if err := be.requireSignIn(ctx); err != nil {
		return verify.Report{}, err
	}
	if err := be.awaitBucket(ctx, min(time.Duration(cfg.Storage.GiveUpAfter), verifyReachWait)); err != nil {
		if ue := (*storage.UnreachableError)(nil); errors.As(err, &ue) {
			return verify.Report{}, &exitError{exitFailed, fmt.Errorf("%s unreachable: cannot verify (no answer for %s: %s)",
				cmp.Or(ue.Server, storage.NameStorage), ue.For.Round(time.Second), ue.LastError)}
		}
		return verify.Report{}, err
	}
	// Read only, like status: verify creates no journal where none is.
	in := verify.Input{Walked: true, Roots: map[string]string{}, Rows: []journal.Row{}}
	j, err := openJournalReadOnly(ctx, cfg)
	switch {
	case errors.Is(err, journal.ErrNoJournal):
		j = nil
	case err != nil:
		return verify.Report{}, err
	default:
		defer j.Close()
	}
	for _, r := range cfg.Watch {
		in.Roots[r.Name] = r.Path
	}
	stored := map[string]journal.Row{}
	if j != nil {
		err = j.Rows(ctx, func(r journal.Row) error {
			in.Rows = append(in.Rows, r)
			stored[r.Root+"/"+r.Path] = r
			return nil
		})
		if err != nil {
			return verify.Report{}, err
		}
	}
	tracked := func(root, rel string) bool {
		r, ok := stored[root+"/"+rel]
		return ok && r.State != journal.Deleted
	}
	err = agent.Survey(ctx, roots(cfg), filter(cfg), tracked, func(l verify.Local) {
		if r, ok := stored[l.Root+"/"+l.Rel]; deep && ok && r.State == journal.Done && r.Identity.Equal(l.Identity) {
			l.SHA256, l.Err = hashFile(l.Abs)
		}
		in.Locals = append(in.Locals, l)
	})
	if err != nil {
		return verify.Report{}, err
	}
	if deep {
		in.Reread = func(key string) (string, error) {
			body, err := be.st.Get(ctx, key, 0)
			if err != nil {
				return "", err
			}
			defer body.Close()
			return hashOf(body)
		}
	}
	return agent.Check(ctx, j, be.st, keyTemplate(cfg, be.bucket), in)
}

// verifyReachWait bounds how long verify waits for a storage that does not
// answer: it has nothing to do without it.
const verifyReachWait = 5 * time.Second

// hashFile returns the hex SHA-256 of the file at path.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read: %w", err)
	}
	defer f.Close()
	sum, err := hashOf(f)
	if err != nil {
		return "", fmt.Errorf("cannot read: %w", err)
	}
	return sum, nil
}

// hashOf returns the hex SHA-256 of what r holds.
func hashOf(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verifyDone prints the findings and ends with the exit they call for.
func (g *globals) verifyDone(out verifyOutput, fixable int) error {
	if out.asJSON {
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		printFindings(g.stdout, out)
		if fixable > 0 {
			fmt.Fprintf(g.stdout, "run `cloudkeep verify --repair` to upload %d file(s) again\n", fixable)
		}
	}
	if !out.OK {
		failing := out.Failing
		if out.Repair != nil && out.Repair.After != nil {
			failing = out.Repair.After.Failing
		}
		return &exitError{exitFailed, fmt.Errorf("%d file(s) not stored whole", failing)}
	}
	return nil
}

// printFindings writes one line per finding, then the summary.
func printFindings(w io.Writer, out verifyOutput) {
	for _, r := range out.RootErrors {
		fmt.Fprintln(w, r.Line())
	}
	for _, f := range out.Findings {
		fmt.Fprintf(w, "%-14s  %s  %s\n", f.Reason, shown(cmpOr(f.Path, f.Key)), f.Detail)
	}
	if out.JournalEmpty {
		fmt.Fprintln(w, "the journal is empty: run `cloudkeep backup` to rebuild it — files already stored are found, not sent again")
	}
	fmt.Fprintln(w, summaryLine(out.Report, time.Duration(out.DurationMS)*time.Millisecond))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// summaryLine says how much was compared and what was found, e.g.
// "verified 1,204 files, 1,210 objects in 1.2s: 1 missing_remote, 2
// remote_only (not a failure)".
func summaryLine(rep verify.Report, d time.Duration) string {
	head := fmt.Sprintf("verified %s files, %s objects in %s: ", humanize.Comma(int64(rep.Tracked)),
		humanize.Comma(int64(rep.Objects)), d.Round(time.Millisecond))
	text := countsText(rep.Counts, rep.Failing)
	if n := len(rep.RootErrors); n > 0 {
		text = strings.TrimSuffix(fmt.Sprintf("%d watched folder(s) not walked, %s", n, text), ", ")
	}
	return head + text
}

// countsText names the findings by reason, or says that all is stored.
func countsText(counts map[verify.Reason]int, failing int) string {
	var parts []string
	for _, r := range verify.Reasons {
		if n := counts[r]; n > 0 {
			s := fmt.Sprintf("%d %s", n, r)
			switch {
			case r == verify.RemoteOnly:
				s += " (objects no journal row holds: not a failure)"
			case r == verify.NotUploaded && failing == 0:
				s += " (left out on purpose: excluded or skipped)"
			}
			parts = append(parts, s)
		}
	}
	if failing == 0 {
		parts = append([]string{"all stored"}, parts...)
	}
	return strings.Join(parts, ", ")
}

// repairable returns the files --repair uploads again.
func repairable(rep verify.Report) []agent.RepairFile {
	var out []agent.RepairFile
	seen := map[agent.RepairFile]bool{}
	for _, f := range rep.Findings {
		rf := agent.RepairFile{Root: f.Root, Path: f.Rel}
		if f.Repair && !seen[rf] {
			seen[rf] = true
			out = append(out, rf)
		}
		if f.Repair && f.NewKey {
			for i := range out {
				if out[i].Root == f.Root && out[i].Path == f.Rel {
					out[i].NewKey = true
				}
			}
		}
	}
	return out
}

// correctMeta sets the sha256 metadata of the objects --deep read back
// and found other than their metadata said to the hash of their bytes,
// on the server: the upload of the repair then sees another content and
// replaces them, where it would take them for the file's.
func (g *globals) correctMeta(cmd *cobra.Command, cfg *config.Agent, rep verify.Report) error {
	var wrong []verify.Finding
	for _, f := range rep.Findings {
		if f.Repair && f.Reread != "" {
			wrong = append(wrong, f)
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	ctx := cmd.Context()
	be, err := openBackend(cfg, newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format))
	if err != nil {
		return err
	}
	defer be.Close()
	for _, f := range wrong {
		o, err := be.st.Stat(ctx, f.Key)
		if err != nil {
			return fmt.Errorf("repair %s: %w", f.Key, err)
		}
		o.Meta.SHA256 = f.Reread
		if _, err := be.st.Copy(ctx, f.Key, f.Key, o.ETag, o.Meta); err != nil {
			return fmt.Errorf("repair %s: %w", f.Key, err)
		}
	}
	return nil
}

// unrepairable counts the failing findings --repair cannot mend.
func unrepairable(rep verify.Report) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Failing && !f.Repair {
			n++
		}
	}
	return n
}

// repairHere, with no agent running, makes the files pending again in the
// journal and backs them up as `cloudkeep backup` does, then verifies
// again. The JSON keeps the findings from before and adds the repair.
func (g *globals) repairHere(cmd *cobra.Command, cfg *config.Agent, out verifyOutput) error {
	ctx := cmd.Context()
	var ids []int64
	newKey := map[int64]bool{}
	for _, f := range out.Findings {
		if f.Repair && f.FileID != 0 {
			ids = append(ids, f.FileID)
			newKey[f.FileID] = newKey[f.FileID] || f.NewKey
		}
	}
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return err
	}
	n, err := j.Repend(ctx, ids, newKey)
	j.Close()
	if err != nil {
		return err
	}
	if !out.asJSON {
		fmt.Fprintf(g.stdout, "repair: %d file(s) queued again; backing up\n", n)
	}
	stdout := g.stdout
	if out.asJSON {
		g.stdout = io.Discard // the JSON is the only output
	}
	berr := g.backup(cmd)
	g.stdout = stdout
	start := time.Now()
	after, err := g.verifyOnce(cmd, cfg, false)
	if err != nil {
		return err
	}
	if out.asJSON {
		out.Repair = &verifyRepair{By: "verify", Queued: n, After: &after}
		out.OK = after.OK()
	} else {
		fmt.Fprintln(g.stdout, "after the repair:")
		out = verifyOutput{Report: after, OK: after.OK(), DurationMS: time.Since(start).Milliseconds()}
	}
	if err := g.verifyDone(out, 0); err != nil {
		return err
	}
	return berr
}

// printVerify writes what the status says of the last light verify, e.g.
// "verify: 2026-11-27 03:00, 12,345 files, all stored".
func printVerify(w io.Writer, s agent.Status, now time.Time) {
	v := s.Verify
	if v == nil {
		return
	}
	when := v.At.Local().Format("2006-01-02 15:04")
	if v.Error != "" {
		fmt.Fprintf(w, "verify: %s, could not compare: %s\n", when, v.Error)
		return
	}
	counts := map[verify.Reason]int{}
	for r, n := range v.Counts {
		counts[verify.Reason(r)] = n
	}
	line := fmt.Sprintf("verify: %s, %s files, %s", when, humanize.Comma(int64(v.Files)), countsText(counts, v.Failing))
	if v.Failing > 0 {
		line += " — run `cloudkeep verify --repair`"
	}
	fmt.Fprintln(w, line)
}
