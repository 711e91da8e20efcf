package cli

import (
	"context"
	"errors"
	"os"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

// joinReplicas records this replica in store under its host name and
// listen address. A replica running on the same store with another
// public_url makes it refuse to start (exit 2).
func joinReplicas(ctx context.Context, cfg *config.AccountServer, store account.Store, log zerolog.Logger) (*account.Heartbeat, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	hb, err := account.JoinReplicas(ctx, store, host+" "+cfg.Listen, cfg.PublicURL, log)
	if c, ok := errors.AsType[*account.IssuerConflictError](err); ok {
		return nil, usageError(cfg.KeyError("public_url", c))
	}
	return hb, err
}

// leaveReplicas records that this replica stopped cleanly.
func leaveReplicas(hb *account.Heartbeat, log zerolog.Logger) {
	if err := hb.Leave(); err != nil {
		log.Warn().Err(err).Msg("record that this replica stopped")
	}
}
