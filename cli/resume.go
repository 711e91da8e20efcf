package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
)

func resumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Start uploading again after `cloudkeep pause`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			c := agent.NewClient(cfg.Control.Socket)
			if err := c.Resume(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "resumed")
			// resume lifts `cloudkeep pause`, not the rules: say so when
			// one still holds the uploads.
			if st, err := c.Status(cmd.Context()); err == nil {
				printStillHeld(g.stdout, st)
			}
			return nil
		},
	}
}

// printStillHeld says which rule still holds uploads, if one does.
func printStillHeld(w io.Writer, s agent.Status) {
	if r := s.Rules; r != nil && r.Holding != "" {
		fmt.Fprintf(w, "uploads still held: %s — %s\n", r.Holding, ruleSaid(r.Rule))
	}
}
