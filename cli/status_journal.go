package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
)

// openJournalReadOnly opens cfg's journal for commands that only look: it
// creates no file, so that a look by root before the service's first start
// leaves nothing the service's user cannot write.
func openJournalReadOnly(ctx context.Context, cfg *config.Agent) (*journal.Journal, error) {
	return journal.OpenReadOnly(ctx, filepath.Join(cfg.StateDir, journal.FileName))
}

// noJournalStatus is the offline status of a state directory without a
// journal: no agent has run with it.
func (g *globals) noJournalStatus(cfg *config.Agent, w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, map[string]any{"state": "not running", "journal": nil})
	}
	fmt.Fprintln(w, "agent: not running (start it with `cloudkeep run` or `cloudkeep service start`)")
	fmt.Fprintf(w, "journal: none yet in %s (the agent has not run with this state_dir)\n", cfg.StateDir)
	return nil
}
