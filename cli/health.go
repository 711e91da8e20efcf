package cli

import (
	"cmp"
	"context"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/storage"
)

// storageHealth returns what follows whether be's storage answers, named
// after its endpoint (the account service's URL in account mode), or nil
// when the storage is not wrapped with retries.
func storageHealth(cfg *config.Agent, be *backend) *storage.Health {
	r, ok := be.st.(*storage.Retry)
	if !ok {
		return nil
	}
	if r.Health == nil || r.Health.Status().Endpoint == "" {
		r.Health = storage.NewHealth(cmp.Or(cfg.Storage.Endpoint, cfg.Account.URL))
	}
	return r.Health
}

// giveUpWhenUnreachable ends ctx, with a *storage.UnreachableError as its
// cause, once h has been unreachable for limit. It returns when ctx ends.
func giveUpWhenUnreachable(ctx context.Context, h *storage.Health, limit time.Duration, cancel context.CancelCauseFunc) {
	t := time.NewTicker(min(max(limit/20, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.UnreachableFor(limit); err != nil {
				cancel(err)
				return
			}
		}
	}
}
