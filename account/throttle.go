package account

import (
	"context"
	"time"
)

// Throttling of sign-in failures, per account and per client address.
const (
	captchaAfter = 3                // failures before the captcha is required
	lockAfter    = 5                // failures before a lockout
	lockFirst    = 30 * time.Second // the first lockout; each further failure doubles it
	lockMax      = time.Hour
	failureReset = 24 * time.Hour // failures older than this are forgotten
)

// throttles reads the counters of keys.
func (s *Service) throttles(ctx context.Context, keys []string) ([]Throttle, error) {
	out := make([]Throttle, 0, len(keys))
	for _, k := range keys {
		t, err := s.store.Throttle(ctx, k)
		if err != nil {
			return nil, err
		}
		if s.now().Sub(t.Updated) > failureReset {
			t = Throttle{Key: k}
		}
		out = append(out, t)
	}
	return out, nil
}

// lockedFor returns how long the longest lockout among ts has to run.
func (s *Service) lockedFor(ts []Throttle) time.Duration {
	var wait time.Duration
	for _, t := range ts {
		wait = max(wait, t.LockedUntil.Sub(s.now()))
	}
	return wait
}

func needsCaptcha(ts []Throttle) bool {
	for _, t := range ts {
		if t.Failures >= captchaAfter {
			return true
		}
	}
	return false
}

// fail counts a failure on each counter and locks those past the limit,
// each lockout twice as long as the one before.
func (s *Service) fail(ctx context.Context, ts []Throttle) error {
	now := s.now()
	for _, t := range ts {
		t.Failures++
		t.Updated = now
		if t.Failures >= lockAfter {
			wait := lockFirst << min(t.Failures-lockAfter, 10)
			t.LockedUntil = now.Add(min(wait, lockMax))
		}
		if err := s.store.PutThrottle(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// succeed clears a counter.
func (s *Service) succeed(ctx context.Context, key string) error {
	return s.store.PutThrottle(ctx, Throttle{Key: key, Updated: s.now()})
}
