package cli

import (
	"context"
	"time"

	"github.com/cloudkeep/cloudkeep/storage"
)

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
