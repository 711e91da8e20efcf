package cli

import (
	"context"
	"errors"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

// openAccountStore opens the accounts database cfg names. A store setting
// that cannot be used is a usage error at its line of the config file.
func openAccountStore(ctx context.Context, cfg *config.AccountServer) (account.Store, error) {
	store, err := account.OpenStore(ctx, cfg.Store, cfg.StateDir, cfg.StorePasswordFile)
	if ce, ok := errors.AsType[*account.StoreConfigError](err); ok {
		return nil, usageError(cfg.KeyError(ce.Key, ce.Err))
	}
	return store, err
}
