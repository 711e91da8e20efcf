package account

import (
	"context"
	"fmt"
	"time"
)

// Throttling of sign-in attempts. Every attempt is counted before its
// password is compared, on three counters: the user name's asks for the
// captcha after 3, the client address's asks for the captcha after 3 and
// locks after 5, and the user name's from that client address locks after
// 5. Only the caller's own address is ever locked, so nobody can keep a
// person from signing in; the captcha is all that is account-wide. The
// user name is counted by a keyed hash whether or not an account has it,
// so the counters tell nothing about which accounts exist.
const (
	captchaAfter = 3                // attempts before the captcha is required
	lockAfter    = 5                // the attempt that locks
	lockFirst    = 30 * time.Second // the first lockout; each further attempt doubles it
	lockMax      = time.Hour
	failureReset = 24 * time.Hour // counters untouched this long are forgotten
)

var (
	userRule = ThrottleRule{Window: failureReset, CaptchaAfter: captchaAfter}
	addrRule = ThrottleRule{Window: failureReset, CaptchaAfter: captchaAfter,
		LockAfter: lockAfter, LockFirst: lockFirst, LockMax: lockMax}
	userAddrRule = ThrottleRule{Window: failureReset, LockAfter: lockAfter, LockFirst: lockFirst, LockMax: lockMax}
)

// counter is one throttle counter and its rule.
type counter struct {
	key  string
	rule ThrottleRule
}

// signinCounters returns the counters of a sign-in as user (an account's
// "account:ID", or the normalized name typed when no account has it) from
// the client address ip.
func (s *Service) signinCounters(user, ip string) []counter {
	return []counter{
		{"user:" + keyedHash(s.secret, "signin-user", user), userRule},
		{"ip:" + ip, addrRule},
		{"user-ip:" + keyedHash(s.secret, "signin-user-ip", user, ip), userAddrRule},
	}
}

// admission is an attempt counted on some counters.
type admission struct {
	keys  []string
	locks []time.Time // the lock each count set, if any
}

// admit counts an attempt on each counter in turn. When one refuses, the
// attempt is taken back from those that counted it and the answer is a
// lockout or ErrCaptchaRequired.
func (s *Service) admit(ctx context.Context, cs []counter, solved bool) (*admission, error) {
	now := s.now()
	adm := &admission{}
	for _, c := range cs {
		a, err := s.store.Attempt(ctx, c.key, now, c.rule, solved)
		if err == nil && a.Refused == RefusedNone {
			adm.keys, adm.locks = append(adm.keys, c.key), append(adm.locks, a.LockedUntil)
			continue
		}
		s.forgive(ctx, adm)
		switch {
		case err != nil:
			return nil, fmt.Errorf("count sign-in attempt: %w", err)
		case a.Refused == RefusedLocked:
			return nil, locked(a.LockedUntil.Sub(now))
		}
		return nil, ErrCaptchaRequired
	}
	return adm, nil
}

// forgive takes an admitted attempt back: it was refused for another
// reason, or the password was right. It runs even when ctx is cancelled.
func (s *Service) forgive(ctx context.Context, adm *admission) {
	ctx = context.WithoutCancel(ctx)
	for i, k := range adm.keys {
		if err := s.store.Forgive(ctx, k, adm.locks[i]); err != nil {
			s.log.Error().Err(err).Msg("forgive sign-in attempt")
		}
	}
}

// clearSignin forgets the attempts of user from ip after a full sign-in.
// The client address's own counter stays: signing in to one account must
// not reset an address that tried many.
func (s *Service) clearSignin(ctx context.Context, user, ip string) error {
	for _, c := range s.signinCounters(user, ip) {
		if c.rule == addrRule {
			continue
		}
		if err := s.store.ClearThrottle(ctx, c.key); err != nil {
			return fmt.Errorf("clear sign-in attempts: %w", err)
		}
	}
	return nil
}

// CaptchaRequired reports whether a sign-in from ip must solve a captcha.
func (s *Service) CaptchaRequired(ctx context.Context, ip string) bool {
	t, err := s.store.Throttle(ctx, "ip:"+ip)
	return err == nil && t.Expires.After(s.now()) && t.Failures >= captchaAfter
}
