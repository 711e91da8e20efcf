package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/storage"
)

func backupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup",
		Short: "Back up every watched folder once, then exit",
		Long: `Walks every folder under watch:, uploads each photo and video that is new or
changed since the last backup, and exits 0 when all are stored, 1 otherwise.
An interrupted upload resumes where it stopped on the next run.

Once the files are stored it makes the thumbnails the stored photos lack
(media.thumbnails). Interrupting it then leaves the backup whole: the rest
are made by ` + "`cloudkeep run`" + ` or the next backup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.backup(cmd)
		},
	}
}

func (g *globals) backup(cmd *cobra.Command) error {
	ctx := cmd.Context()
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if _, err := agent.NewClient(cfg.Control.Socket).Status(ctx); err == nil {
		return usageError(fmt.Errorf("the agent is running and backs up continuously: see `cloudkeep status`"))
	}
	log, bar := g.barLogger(cfg)
	be, err := openBackend(cfg, log)
	if err != nil {
		return err
	}
	defer be.Close()
	if err := be.requireSignIn(ctx); err != nil {
		return err
	}
	giveUpAfter := time.Duration(cfg.Storage.GiveUpAfter)
	be.health.Logging(log.With().Str("component", "storage").Logger(),
		fmt.Sprintf("the backup gives up unless it answers within %s", giveUpAfter))
	if err := be.awaitBucket(ctx, giveUpAfter); err != nil {
		return err
	}
	if err := be.openUploads(ctx); err != nil {
		if agent.StateDirFull(cfg.StateDir, err) {
			return fmt.Errorf("state_dir %s is full: free space, then run the backup again (%w)", cfg.StateDir, err)
		}
		return err
	}
	b := &agent.Backup{
		Roots:    roots(cfg),
		Filter:   filter(cfg),
		Keys:     keyTemplate(cfg, be.bucket),
		Journal:  be.journal,
		Uploader: be.uploader,
		Files:    cfg.Storage.Concurrency.Files,
		Since:    cfg.Media.Since.Time(),
		Log:      log,
	}
	var p *barProgress
	if bar {
		p = &barProgress{w: g.stderr}
		b.Progress = p
	}
	// A storage that stops answering ends the pass after give_up_after.
	ctx, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	go giveUpWhenUnreachable(ctx, be.health, giveUpAfter, giveUp)
	b.StateDir = cfg.StateDir
	b.Manifest = be.st
	if cfg.Media.Thumbnails {
		b.Thumbs = be.st
	}
	start := time.Now()
	sum, err := b.Run(ctx)
	if p != nil {
		p.finish()
	}
	var unreachable *storage.UnreachableError
	gaveUp := err != nil && errors.As(context.Cause(ctx), &unreachable)
	if gaveUp {
		sum = waitedForStorage(sum)
	}
	printSummary(g.stdout, sum, time.Since(start), log)
	if gaveUp {
		return &exitError{exitFailed, unreachable}
	}
	if err != nil {
		return &exitError{exitFailed, fmt.Errorf("backup interrupted: %w", err)}
	}
	if sum.StateFull != nil { // the files left are not failures: said once
		return &exitError{exitFailed, sum.StateFull}
	}
	g.thumbnails(ctx, b, bar, log) // the files are stored: how it goes changes nothing of the exit
	if len(sum.Failed) > 0 {
		return &exitError{exitFailed, fmt.Errorf("%d file(s) not backed up", len(sum.Failed))}
	}
	return nil
}

// waitedForStorage counts the files that failed because the storage did
// not answer as interrupted: the line that ends the backup says why, once,
// and they resume on the next run.
func waitedForStorage(s agent.Summary) agent.Summary {
	failed := s.Failed[:0:0]
	for _, f := range s.Failed {
		if storage.Unreachable(f.Err) {
			s.Interrupted++
		} else {
			failed = append(failed, f)
		}
	}
	s.Failed = failed
	return s
}

// printSummary says what the pass did: files backed up now (uploaded, or
// copied on the server from a renamed file's key), then the files that
// needed nothing sent and those that were not backed up.
func printSummary(w io.Writer, s agent.Summary, d time.Duration, log zerolog.Logger) {
	fmt.Fprintf(w, "backed up %d file(s) in %s: %d uploaded (%s sent), %d copied on the server; %d already stored, %d unchanged, %d vanished, %d failed",
		s.Uploaded+s.Copied, d.Round(time.Millisecond), s.Uploaded, humanize.IBytes(uint64(s.Sent)), s.Copied,
		s.AlreadyStored, s.Unchanged, s.Vanished, len(s.Failed))
	if s.Interrupted > 0 {
		fmt.Fprintf(w, ", %d interrupted", s.Interrupted)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped (taken before media.since)", s.Skipped)
	}
	fmt.Fprintln(w)
	for _, f := range s.Failed {
		fmt.Fprintf(w, "  failed: %s: %v\n", f.Path, f.Err)
	}
	log.Info().Int("uploaded", s.Uploaded).Int64("sent_bytes", s.Sent).Int("copied", s.Copied).
		Int("already_stored", s.AlreadyStored).Int("unchanged", s.Unchanged).Int("vanished", s.Vanished).
		Int("interrupted", s.Interrupted).Int("failed", len(s.Failed)).Int64("duration_ms", d.Milliseconds()).Msg("backup finished")
}

// barLogger returns the logger of a command that may draw a progress bar,
// and whether it should: on a terminal the bar tells the story, so only
// warnings are logged unless --log-level says otherwise.
func (g *globals) barLogger(cfg *config.Agent) (zerolog.Logger, bool) {
	bar := isTerminal(g.stderr) && cfg.Log.Level != "debug"
	level := cfg.Log.Level
	if bar && g.logLevel == "" {
		level = "warn"
	}
	return newLogger(g.stderr, level, cfg.Log.Format), bar
}

// thumbnails makes the thumbnails the stored photos lack, after the
// uploads, drawing "thumbnails 120/500" on a terminal, and says what it
// did in one line. An interrupt (Ctrl-C) or a storage error stops it
// without failing the backup.
func (g *globals) thumbnails(ctx context.Context, b *agent.Backup, bar bool, log zerolog.Logger) {
	var line *thumbLine
	var progress func(done, total int)
	if bar {
		line = &thumbLine{w: g.stderr}
		progress = line.show
	}
	start := time.Now()
	sum, err := b.Thumbnails(ctx, progress)
	if line != nil {
		line.clear()
	}
	if sum.Photos == 0 {
		if err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("no thumbnails made: they are made by the agent or the next backup")
		}
		return
	}
	printThumbSummary(g.stdout, sum, err, time.Since(start))
}

// printThumbSummary says what the thumbnail phase did, and why it
// stopped early when it did.
func printThumbSummary(w io.Writer, s agent.ThumbSummary, err error, d time.Duration) {
	noun := "thumbnails"
	if s.Made == 1 {
		noun = "thumbnail"
	}
	fmt.Fprintf(w, "%d %s made, %d failed", s.Made, noun, s.Failed)
	if s.Found > 0 {
		fmt.Fprintf(w, ", %d found stored", s.Found)
	}
	fmt.Fprintf(w, " in %s", d.Round(time.Millisecond))
	switch left := s.Photos - s.Done; {
	case left == 0:
	case s.Stopped != nil:
		fmt.Fprintf(w, "; %d left (%s): made by `cloudkeep run` or the next backup", left, storage.Short(s.Stopped))
	case err != nil:
		fmt.Fprintf(w, "; %d left (interrupted): made by `cloudkeep run` or the next backup", left)
	}
	fmt.Fprintln(w)
}

// thumbLine draws "thumbnails 120/500" on a terminal, at most every
// 100 ms.
type thumbLine struct {
	w     io.Writer
	drawn time.Time
	width int
}

// show draws done out of total; the catch-up calls it from one goroutine
// at a time.
func (l *thumbLine) show(done, total int) {
	if done < total && time.Since(l.drawn) < 100*time.Millisecond {
		return
	}
	l.drawn = time.Now()
	text := fmt.Sprintf("thumbnails %d/%d", done, total)
	l.width = max(l.width, len(text))
	fmt.Fprintf(l.w, "\r%-*s", l.width, text)
}

// clear removes the line.
func (l *thumbLine) clear() {
	if l.width > 0 {
		fmt.Fprintf(l.w, "\r%*s\r", l.width, "")
	}
}
