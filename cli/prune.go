package cli

import (
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
)

func pruneCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "prune",
		Short:  "Remove stored objects of files deleted or renamed on this device long ago",
		Hidden: true,
	}
}

// configureManifest sets up the agent's manifest from cfg.
func configureManifest(a *agent.Agent, cfg *config.Agent, be *backend) error { return nil }
