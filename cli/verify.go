package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
--repair uploads again what can be: through the running agent, or itself
when none runs. Freed files (free-up) whose object is gone cannot be: they
are in the trash.`,
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

// verifyOutput is what --json prints.
type verifyOutput struct {
	verify.Report
	OK         bool                `json:"ok"`
	DurationMS int64               `json:"duration_ms"`
	Repair     *agent.RepairResult `json:"repair,omitempty"`
	asJSON     bool
}

func (g *globals) verify(cmd *cobra.Command, o verifyOptions) error {
	ctx := cmd.Context()
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	client := agent.NewClient(cfg.Control.Socket)
	_, err = client.Status(ctx)
	running := err == nil
	start := time.Now()
	rep, err := g.verifyOnce(cmd, cfg, o.deep)
	if err != nil {
		return err
	}
	out := verifyOutput{Report: rep, OK: rep.OK(), DurationMS: time.Since(start).Milliseconds(), asJSON: o.json}
	files := repairable(rep)
	if !o.repair {
		return g.verifyDone(out, len(files))
	}
	if !o.json {
		printFindings(g.stdout, out)
	}
	if len(files) == 0 {
		if o.json {
			return g.verifyDone(out, 0)
		}
		if !rep.OK() {
			return &exitError{exitFailed, errors.New("nothing verify can repair: see the lines above")}
		}
		return nil
	}
	if err := g.correctMeta(cmd, cfg, rep); err != nil {
		return err
	}
	if running {
		res, err := client.Repair(ctx, files)
		if err != nil {
			return fmt.Errorf("ask the agent to repair: %w", err)
		}
		out.Repair = &res
		if o.json {
			return g.verifyDone(out, 0)
		}
		fmt.Fprintf(g.stdout, "repair: the agent queued %d file(s) again; `cloudkeep status` shows the uploads, `cloudkeep verify` checks again\n", res.Queued)
		for _, l := range res.Left {
			fmt.Fprintf(g.stdout, "  left: %s/%s: %s\n", l.Root, l.Path, l.Why)
		}
		if len(res.Left) > 0 || unrepairable(rep) > 0 {
			return &exitError{exitFailed, errors.New("some files cannot be repaired: see the lines above")}
		}
		return nil
	}
	return g.repairHere(cmd, cfg, o, rep)
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
	if err := be.requireSignIn(ctx); err != nil {
		return verify.Report{}, err
	}
	if err := be.awaitBucket(ctx, time.Duration(cfg.Storage.GiveUpAfter)); err != nil {
		return verify.Report{}, err
	}
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return verify.Report{}, err
	}
	defer j.Close()
	in := verify.Input{Walked: true, Roots: map[string]string{}}
	for _, r := range cfg.Watch {
		in.Roots[r.Name] = r.Path
	}
	stored := map[string]journal.Row{}
	err = j.Rows(ctx, func(r journal.Row) error {
		in.Rows = append(in.Rows, r)
		stored[r.Root+"/"+r.Path] = r
		return nil
	})
	if err != nil {
		return verify.Report{}, err
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
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printFindings(g.stdout, out)
		if fixable > 0 {
			fmt.Fprintf(g.stdout, "run `cloudkeep verify --repair` to upload %d file(s) again\n", fixable)
		}
	}
	if !out.OK {
		return &exitError{exitFailed, fmt.Errorf("%d file(s) not stored whole", out.Failing)}
	}
	return nil
}

// printFindings writes one line per finding, then the summary.
func printFindings(w io.Writer, out verifyOutput) {
	for _, f := range out.Findings {
		fmt.Fprintf(w, "%-14s  %s  %s\n", f.Reason, cmpOr(f.Path, f.Key), f.Detail)
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
	return head + countsText(rep.Counts, rep.Failing)
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
// again.
func (g *globals) repairHere(cmd *cobra.Command, cfg *config.Agent, o verifyOptions, rep verify.Report) error {
	ctx := cmd.Context()
	var ids []int64
	for _, f := range rep.Findings {
		if f.Repair && f.FileID != 0 {
			ids = append(ids, f.FileID)
		}
	}
	j, err := openJournal(ctx, cfg)
	if err != nil {
		return err
	}
	n, err := j.Repend(ctx, ids)
	j.Close()
	if err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(g.stdout, "repair: %d file(s) queued again; backing up\n", n)
	}
	stdout := g.stdout
	if o.json {
		g.stdout = io.Discard // the JSON is the only output
	}
	berr := g.backup(cmd)
	g.stdout = stdout
	start := time.Now()
	after, err := g.verifyOnce(cmd, cfg, false)
	if err != nil {
		return err
	}
	out := verifyOutput{Report: after, OK: after.OK(), DurationMS: time.Since(start).Milliseconds(), asJSON: o.json}
	if !o.json {
		fmt.Fprintln(g.stdout, "after the repair:")
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
