package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
)

func pauseCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pause",
		Short: "Stop uploading; the agent keeps watching and resumes on `cloudkeep resume`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if err := agent.NewClient(cfg.Control.Socket).Pause(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "paused: files being uploaded finish, no new upload starts; watching goes on")
			return nil
		},
	}
}
