package cli

import (
	"fmt"

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
			if err := agent.NewClient(cfg.Control.Socket).Resume(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "resumed")
			return nil
		},
	}
}
