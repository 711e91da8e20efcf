package cli

import "github.com/spf13/cobra"

func freeUpCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "free-up",
		Short:  "Move files whose backup is proven to the trash, to free local space",
		Hidden: true,
	}
}
