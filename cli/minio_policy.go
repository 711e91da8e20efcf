package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/internal/minioadmin"
)

func minioPolicyCmd(g *globals) *cobra.Command {
	var endpoint, bucket, name string
	cmd := &cobra.Command{
		Use:   "minio-policy",
		Short: "Create the per-user policy in MinIO that confines each account to its own prefix",
		Long: `Creates (or replaces) the MinIO policy named in the account service's access
tokens: each account may do anything under <bucket>/<account ID>/ and list only
that prefix. The admin keys come from MINIO_ROOT_USER and MINIO_ROOT_PASSWORD.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, secret := os.Getenv("MINIO_ROOT_USER"), os.Getenv("MINIO_ROOT_PASSWORD")
			if key == "" || secret == "" {
				return usageError(errors.New("set MINIO_ROOT_USER and MINIO_ROOT_PASSWORD to MinIO's admin keys"))
			}
			if endpoint == "" || bucket == "" {
				return usageError(errors.New("--endpoint and --bucket are required"))
			}
			c := &minioadmin.Client{Endpoint: endpoint, AccessKey: key, SecretKey: secret}
			if err := c.AddPolicy(cmd.Context(), name, minioadmin.UserPolicy(bucket)); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "policy %q created: each account reaches only %s/<account ID>/\n", name, bucket)
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "MinIO's URL, e.g. http://127.0.0.1:9000")
	cmd.Flags().StringVar(&bucket, "bucket", "", "the backup bucket")
	cmd.Flags().StringVar(&name, "name", "cloudkeep-user", "the policy name (tokens.policy of the account service)")
	return cmd
}
