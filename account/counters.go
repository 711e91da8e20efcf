package account

import (
	"context"
	"time"
)

// AddressKind says what an address is, and so how a code reaches it.
type AddressKind string

// The kinds of address.
const (
	KindEmail AddressKind = "email"
	KindPhone AddressKind = "phone" // E.164
)

// ThrottleRule is what Counters.Attempt enforces on one counter.
type ThrottleRule struct {
	Window       time.Duration // a counter untouched this long starts again from zero
	CaptchaAfter int           // attempts past this many need a solved captcha; 0: never
	LockAfter    int           // the attempt that reaches this many locks the counter; 0: never
	LockFirst    time.Duration // the first lock; each further attempt doubles it
	LockMax      time.Duration
}

// lockFor is how long the attempt that brings a counter to n locks it.
func (r ThrottleRule) lockFor(n int) time.Duration {
	if r.LockAfter == 0 || n < r.LockAfter {
		return 0
	}
	return min(r.LockMax, r.LockFirst<<min(n-r.LockAfter, 20))
}

// Refusal says why Counters.Attempt refused an attempt.
type Refusal int

// The refusals.
const (
	RefusedNone    Refusal = 0 // counted
	RefusedLocked  Refusal = 1 // the counter is locked
	RefusedCaptcha Refusal = 2 // the captcha is required and was not solved
)

// Attempt is a counter after Counters.Attempt.
type Attempt struct {
	Count       int       // attempts counted, this one included unless refused
	LockedUntil time.Time // when the counter unlocks; zero when it is not locked
	Refused     Refusal   // RefusedNone when the attempt was counted
}

// Budget is a send budget after Counters.SpendBudget.
type Budget struct {
	Spent  int       // sends in the current window, this one included when allowed
	Resets time.Time // when the window ends
}

// Rotation replaces a device's refresh token (Counters.RotateRefresh).
type Rotation struct {
	DeviceID  string
	OldHash   string // the token presented: it must still be the current one
	NewHash   string
	Until     time.Time // the new token's expiry
	At        time.Time
	GracePair string // the new tokens, sealed
}

// Counters are the Store's security counters and single-use state. Each
// method is one atomic step: the decision is made on what the store
// returns, so that parallel requests, on one replica or several, cannot
// all read the same old value.
type Counters interface {
	// Attempt counts an attempt on key at now under rule and returns the
	// counter after it. An attempt is refused, and not counted, while the
	// counter is locked, or when it already holds rule.CaptchaAfter
	// attempts and solved is false. The attempt that brings the count to
	// rule.LockAfter or past it locks the counter from now for
	// rule.lockFor(count).
	Attempt(ctx context.Context, key string, now time.Time, rule ThrottleRule, solved bool) (Attempt, error)
	// Forgive takes back one counted attempt on key, and the lock it set
	// (lockedUntil, its Attempt.LockedUntil), unless a later one replaced it.
	Forgive(ctx context.Context, key string, lockedUntil time.Time) error
	// ClearThrottle forgets the counter of key.
	ClearThrottle(ctx context.Context, key string) error

	// SpendBudget spends one send from the budget key: at most limit per
	// window, the window starting at the first send. ok is false, and
	// nothing is spent, when the budget is used up.
	SpendBudget(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (b Budget, ok bool, err error)
	// RefundBudget gives back one send spent from key.
	RefundBudget(ctx context.Context, key string) error

	// TryCode counts one try at the live code id of purpose and returns
	// the code after it; ErrNotFound when there is none, it has expired,
	// or it has had maxTries already.
	TryCode(ctx context.Context, id, purpose string, now time.Time, maxTries int) (Code, error)
	// ConsumeCode deletes the live code id if its hash is hash and returns
	// it: of parallel calls, one gets it, the others ErrNotFound.
	ConsumeCode(ctx context.Context, id, hash string, now time.Time) (Code, error)
	// VerifyCode marks the unverified code id verified if its hash is hash
	// and makes it live until until; ErrNotFound otherwise.
	VerifyCode(ctx context.Context, id, hash string, until time.Time) error

	// AccountsByPhone returns the accounts whose phone is one of phones.
	AccountsByPhone(ctx context.Context, phones []string) ([]Account, error)
	// PhoneRegions returns the regions of the accounts that have a phone.
	PhoneRegions(ctx context.Context) ([]string, error)

	// RotateRefresh replaces the refresh token of a device that is not
	// revoked and whose current token is r.OldHash, and returns the device
	// after it; ErrNotFound when the token is not current any more.
	RotateRefresh(ctx context.Context, r Rotation) (Device, error)
	// RevokeDevice disconnects a device.
	RevokeDevice(ctx context.Context, id string) error

	// Prune deletes what expired before now: codes, send budgets,
	// throttles, sessions and device authorizations. It returns how many
	// rows went. Several replicas may prune at once.
	Prune(ctx context.Context, now time.Time) (int64, error)
}
