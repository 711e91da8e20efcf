package cli

import (
	"context"
	"fmt"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

// showQuota prints an existing account's quota and usage, changing
// nothing: `account-server quota ACCOUNT` without a size.
func showQuota(ctx context.Context, g *globals, cfg *config.AccountServer, id string) error {
	gate, store, err := openGate(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.AccountByID(ctx, id); err != nil {
		return usageError(fmt.Errorf("account %s: %w", id, err))
	}
	u, err := gate.Usage(ctx, id)
	if err != nil {
		return err
	}
	limit := "no limit"
	if u.Quota > 0 {
		limit = config.Size(u.Quota).String()
	}
	fmt.Fprintf(g.stdout, "account %s: quota %s; %s (%d objects)\n", id, limit, account.UsageText(u), u.Objects)
	return nil
}
