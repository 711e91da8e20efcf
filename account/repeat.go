package account

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// repeat runs fn every d until ctx ends, the first time after d. A failure
// is logged as what, and the next round tries again.
func repeat(ctx context.Context, d time.Duration, fn func(context.Context) error, log zerolog.Logger, what string) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg(what)
		}
	}
}
