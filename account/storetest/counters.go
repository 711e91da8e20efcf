package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

var rule = account.ThrottleRule{Window: 24 * time.Hour, CaptchaAfter: 3, LockAfter: 5,
	LockFirst: 30 * time.Second, LockMax: time.Hour}

func testThrottles(t *testing.T, s account.Store) {
	if got, err := s.Throttle(ctx, "ip:1.2.3.4"); err != nil || got.Failures != 0 || got.Key != "ip:1.2.3.4" {
		t.Errorf("new key: %+v, %v", got, err)
	}
	base := time.Unix(1_000_000, 0)
	for i := 1; i <= 3; i++ {
		a, err := s.Attempt(ctx, "k", base, rule, false)
		if err != nil || a.Count != i || a.Refused != account.RefusedNone || !a.LockedUntil.IsZero() {
			t.Fatalf("attempt %d: got %+v, %v", i, a, err)
		}
	}
	if a, _ := s.Attempt(ctx, "k", base, rule, false); a.Refused != account.RefusedCaptcha || a.Count != 3 {
		t.Errorf("4th without captcha: got %+v, want refused for the captcha, count 3", a)
	}
	s.Attempt(ctx, "k", base, rule, true)
	a, _ := s.Attempt(ctx, "k", base, rule, true)
	if a.Count != 5 || a.Refused != account.RefusedNone || !a.LockedUntil.Equal(base.Add(30*time.Second)) {
		t.Errorf("5th: got %+v, want counted and locked for 30s", a)
	}
	if a, _ := s.Attempt(ctx, "k", base.Add(10*time.Second), rule, true); a.Refused != account.RefusedLocked || a.Count != 5 {
		t.Errorf("while locked: got %+v, want refused, count 5", a)
	}
	a, _ = s.Attempt(ctx, "k", base.Add(31*time.Second), rule, true)
	if a.Count != 6 || !a.LockedUntil.Equal(base.Add(91*time.Second)) {
		t.Errorf("6th: got %+v, want locked for 60s", a)
	}
	// Forgiving takes the attempt and the lock it set back.
	if err := s.Forgive(ctx, "k", a.LockedUntil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Throttle(ctx, "k")
	if got.Failures != 5 || !got.LockedUntil.IsZero() || !got.Expires.Equal(base.Add(31*time.Second+24*time.Hour)) {
		t.Errorf("after forgive: %+v", got)
	}
	// A day later the counter starts again.
	if a, _ := s.Attempt(ctx, "k", base.Add(25*time.Hour+31*time.Second), rule, false); a.Count != 1 || a.Refused != 0 {
		t.Errorf("after the window: %+v", a)
	}
	s.ClearThrottle(ctx, "k")
	if got, _ := s.Throttle(ctx, "k"); got.Failures != 0 {
		t.Errorf("after clear: %+v", got)
	}
}

func testBudgets(t *testing.T, s account.Store) {
	base := time.Unix(100000, 0)
	for i := 1; i <= 3; i++ {
		b, ok, err := s.SpendBudget(ctx, "a", base.Add(time.Duration(i)*time.Hour), 24*time.Hour, 3)
		if err != nil || !ok || b.Spent != i || !b.Resets.Equal(base.Add(25*time.Hour)) {
			t.Fatalf("send %d: got %+v %v %v", i, b, ok, err)
		}
	}
	b, ok, err := s.SpendBudget(ctx, "a", base.Add(4*time.Hour), 24*time.Hour, 3)
	if err != nil || ok || b.Spent != 3 || !b.Resets.Equal(base.Add(25*time.Hour)) {
		t.Errorf("over the limit: got %+v %v %v, want refused", b, ok, err)
	}
	s.RefundBudget(ctx, "a")
	if _, ok, _ := s.SpendBudget(ctx, "a", base.Add(5*time.Hour), 24*time.Hour, 3); !ok {
		t.Errorf("after a refund: refused")
	}
	if b, ok, _ := s.SpendBudget(ctx, "a", base.Add(26*time.Hour), 24*time.Hour, 3); !ok || b.Spent != 1 {
		t.Errorf("next window: got %+v %v", b, ok)
	}
	if b, ok, _ := s.SpendBudget(ctx, "b", base, time.Minute, 1); !ok || b.Spent != 1 {
		t.Errorf("other key: got %+v %v", b, ok)
	}
}

func testCodeTries(t *testing.T, s account.Store) {
	now := time.Unix(1000, 0)
	c := account.Code{ID: "c1", Purpose: "signin", Address: "+4915112345678", Kind: account.KindPhone, Hash: "h",
		Expires: now.Add(time.Minute), Data: "{}"}
	s.PutCode(ctx, c)
	if got, err := s.Code(ctx, "c1"); err != nil || got.Kind != account.KindPhone {
		t.Errorf("kind: %+v, %v", got, err)
	}
	if _, err := s.TryCode(ctx, "c1", "signup", now, 5); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("other purpose: %v", err)
	}
	for i := 1; i <= 5; i++ {
		if got, err := s.TryCode(ctx, "c1", "signin", now, 5); err != nil || got.Tries != i || got.Hash != "h" {
			t.Fatalf("try %d: %+v, %v", i, got, err)
		}
	}
	if _, err := s.TryCode(ctx, "c1", "signin", now, 5); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("6th try: %v", err)
	}
	c.ID = "c2"
	s.PutCode(ctx, c)
	if _, err := s.TryCode(ctx, "c2", "signin", now.Add(time.Hour), 5); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.ConsumeCode(ctx, "c2", "wrong", now); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("consume with another hash: %v", err)
	}
	if got, err := s.ConsumeCode(ctx, "c2", "h", now); err != nil || got.ID != "c2" {
		t.Errorf("consume: %+v, %v", got, err)
	}
	if _, err := s.Code(ctx, "c2"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("consumed code still there: %v", err)
	}
	c.ID, c.Purpose = "c3", "signup"
	s.PutCode(ctx, c)
	if err := s.VerifyCode(ctx, "c3", "wrong", now.Add(time.Hour)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("verify with another hash: %v", err)
	}
	if err := s.VerifyCode(ctx, "c3", "h", now.Add(time.Hour)); err != nil {
		t.Errorf("verify: %v", err)
	}
	if got, _ := s.Code(ctx, "c3"); !got.Verified || !got.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("verified code: %+v", got)
	}
	if err := s.VerifyCode(ctx, "c3", "h", now.Add(time.Hour)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("verify twice: %v", err)
	}
}

// testParallel fires each atomic step from many goroutines at once.
func testParallel(t *testing.T, s account.Store) {
	now := time.Unix(1000, 0)
	const n = 50
	s.PutCode(ctx, account.Code{ID: "p", Purpose: "signin", Hash: "h", Expires: now.Add(time.Minute)})
	counts := parallel(n, func() (int, bool) {
		a, err := s.Attempt(ctx, "burst", now, rule, false)
		return a.Count, err == nil && a.Refused == account.RefusedNone
	})
	if want := []int{1, 2, 3}; !slices.Equal(counts, want) {
		t.Errorf("attempts counted: %v, want %v", counts, want)
	}
	tries := parallel(n, func() (int, bool) {
		c, err := s.TryCode(ctx, "p", "signin", now, 5)
		return c.Tries, err == nil
	})
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(tries, want) {
		t.Errorf("tries: %v, want %v", tries, want)
	}
	spent := parallel(n, func() (int, bool) {
		b, ok, err := s.SpendBudget(ctx, "send", now, time.Hour, 10)
		return b.Spent, ok && err == nil
	})
	if len(spent) != 10 || spent[9] != 10 {
		t.Errorf("sends allowed: %v, want 1 to 10", spent)
	}
	s.PutCode(ctx, account.Code{ID: "q", Purpose: "signin", Hash: "h", Expires: now.Add(time.Minute)})
	used := parallel(n, func() (int, bool) {
		_, err := s.ConsumeCode(ctx, "q", "h", now)
		return 0, err == nil
	})
	if len(used) != 1 {
		t.Errorf("a code used %d times, want once", len(used))
	}
}

// parallel runs f n times at once and returns, sorted, the values of the
// runs that reported ok.
func parallel(n int, f func() (int, bool)) []int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []int
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			v, ok := f()
			if ok {
				mu.Lock()
				out = append(out, v)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	slices.Sort(out)
	return out
}

func testPhones(t *testing.T, s account.Store) {
	for i, p := range []string{"+4915112345678", "+4915199999999", "+33612345678"} {
		a := account.Account{ID: fmt.Sprint(1000000010 + i), Phone: p, Region: "DE", PasswordHash: "h"}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.CreateAccount(ctx, account.Account{ID: "1000000020", Email: "x@example.com", Region: "DE", PasswordHash: "h"})
	got, err := s.AccountsByPhone(ctx, []string{"+4915112345678", "+33612345678", "+10000000000"})
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"1000000010", "1000000012"}) {
		t.Errorf("by phones: %v, %v", ids, err)
	}
	if got, err := s.AccountsByPhone(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no phones: %v, %v", got, err)
	}
	s.CreateAccount(ctx, account.Account{ID: "1000000021", Phone: "+436641234567", Region: "AT", PasswordHash: "h"})
	s.CreateAccount(ctx, account.Account{ID: "1000000022", Email: "y@example.com", Region: "FR", PasswordHash: "h"})
	if got, err := s.PhoneRegions(ctx); err != nil || !slices.Equal(got, []string{"AT", "DE"}) {
		t.Errorf("phone regions: %v, %v; want [AT DE]", got, err)
	}
}

func testRotation(t *testing.T, s account.Store) {
	now := time.Unix(5000, 0)
	s.PutDevice(ctx, account.Device{ID: "d1", AccountID: "1000000001", Name: "laptop", RefreshHash: "r1", RefreshUntil: now.Add(time.Hour)})
	r := account.Rotation{DeviceID: "d1", OldHash: "r1", NewHash: "r2", Until: now.Add(2 * time.Hour), At: now, GracePair: "sealed"}
	got, err := s.RotateRefresh(ctx, r)
	if err != nil || got.RefreshHash != "r2" || got.PreviousHash != "r1" || !got.Rotated.Equal(now) || got.GracePair != "sealed" ||
		!got.RefreshUntil.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("rotate: %+v, %v", got, err)
	}
	if _, err := s.RotateRefresh(ctx, r); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("rotate a spent token: %v", err)
	}
	if got, err := s.DeviceByRefresh(ctx, "r1"); err != nil || got.GracePair != "sealed" {
		t.Errorf("by the spent token: %+v, %v", got, err)
	}
	if err := s.RevokeDevice(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Device(ctx, "d1"); !got.Revoked || got.GracePair != "" {
		t.Errorf("revoked: %+v", got)
	}
	r.OldHash, r.NewHash = "r2", "r3"
	if _, err := s.RotateRefresh(ctx, r); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("rotate a revoked device: %v", err)
	}
}

func testPrune(t *testing.T, s account.Store) {
	now := time.Unix(100000, 0)
	old, live := now.Add(-time.Second), now.Add(time.Hour)
	for i, exp := range []time.Time{old, live} {
		id := fmt.Sprint(i)
		s.PutCode(ctx, account.Code{ID: "c" + id, Purpose: "signin", Expires: exp})
		s.PutSession(ctx, "s"+id, "1000000001", exp)
		s.PutDeviceAuth(ctx, account.DeviceAuth{CodeHash: "h" + id, UserCode: "U" + id, Status: "pending", Expires: exp})
		s.Attempt(ctx, "t"+id, exp.Add(-24*time.Hour), rule, false)
		s.SpendBudget(ctx, "b"+id, exp.Add(-time.Minute), time.Minute, 1)
	}
	n, err := s.Prune(ctx, now)
	if err != nil || n != 5 {
		t.Errorf("pruned %d rows, %v; want 5", n, err)
	}
	if _, err := s.Code(ctx, "c0"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("expired code kept: %v", err)
	}
	if _, err := s.Code(ctx, "c1"); err != nil {
		t.Errorf("live code pruned: %v", err)
	}
	if _, err := s.DeviceAuth(ctx, "h1"); err != nil {
		t.Errorf("live device authorization pruned: %v", err)
	}
	if _, err := s.Session(ctx, "s1", now); err != nil {
		t.Errorf("live session pruned: %v", err)
	}
	if th, _ := s.Throttle(ctx, "t1"); th.Failures != 1 {
		t.Errorf("live throttle pruned: %+v", th)
	}
	if b, ok, _ := s.SpendBudget(ctx, "b1", now, time.Minute, 1); ok {
		t.Errorf("live budget pruned: %+v", b)
	}
}
