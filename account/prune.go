package account

import (
	"context"
	"time"
)

// pruneEvery is how often RunPrune deletes what expired.
const pruneEvery = 10 * time.Minute

// Prune deletes the codes, send budgets, throttles, sessions and device
// authorizations that expired. Each replica may run it: a row deleted
// twice is deleted once.
func (s *Service) Prune(ctx context.Context) error {
	n, err := s.store.Prune(ctx, s.now())
	if err != nil {
		return err
	}
	s.log.Debug().Int64("rows", n).Msg("pruned expired rows")
	return nil
}

// RunPrune prunes now and every pruneEvery until ctx ends. Failures are
// logged, and the next round tries again.
func (s *Service) RunPrune(ctx context.Context) {
	if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("prune expired rows")
	}
	repeat(ctx, pruneEvery, s.Prune, s.log, "prune expired rows")
}
