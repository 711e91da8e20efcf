package account

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// burstSize is how many requests each burst fires at once.
const burstSize = 120

// answer is one response of a burst.
type answer struct {
	status int
	body   map[string]any
}

// burst fires n calls at once, the i-th made by call(i), and returns their
// answers.
func burst(n int, call func(i int) (int, map[string]any)) []answer {
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i].status, out[i].body = call(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts the answers by "status error".
func tally(as []answer) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[fmt.Sprintf("%d %v", a.status, a.body["error"])]++
	}
	return m
}

// wrongCodes returns n distinct 6-digit codes, none of them right.
func wrongCodes(n int, right string) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", i); c != right {
			out = append(out, c)
		}
	}
	return out
}

// checkCodeBurst checks that a burst of wrong codes had exactly codeTries
// comparisons: tries left 4, 3, 2, 1 once each, then too_many_tries.
func checkCodeBurst(t *testing.T, as []answer) {
	t.Helper()
	var left []int
	for _, a := range as {
		switch {
		case a.status == 400 && a.body["error"] == "wrong_code":
			left = append(left, int(a.body["tries_left"].(float64)))
		case a.status == 400 && a.body["error"] == "too_many_tries":
		default:
			t.Errorf("unexpected answer %d %v", a.status, a.body)
		}
	}
	sort.Ints(left)
	if fmt.Sprint(left) != "[1 2 3 4]" {
		t.Errorf("tries left in the answers: %v, want [1 2 3 4] (then the fifth try used the code up); all: %v", left, tally(as))
	}
}

func TestConcurrency_SignupPINBurst(t *testing.T) { forEachStore(t, testSignupPINBurst) }

func testSignupPINBurst(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	_, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "burst@example.com", "region": "DE", "birth_date": "1990-04-01"})
	id := r["signup_id"].(string)
	pin := e.lastCode("burst@example.com")
	wrong := wrongCodes(burstSize, pin)
	as := burst(burstSize, func(i int) (int, map[string]any) {
		return e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": wrong[i]})
	})
	checkCodeBurst(t, as)
	if c, _ := e.svc.store.Code(context.Background(), id); c.Tries != codeTries {
		t.Errorf("tries stored: %d, want %d", c.Tries, codeTries)
	}
	code, r := e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": pin})
	if code != 400 || r["error"] != "too_many_tries" || r["message"] != "Too many wrong codes: request a new one." {
		t.Errorf("the right PIN after the burst: %d %v, want 400 too_many_tries", code, r)
	}
}

func TestConcurrency_SigninCodeBurst(t *testing.T) { forEachStore(t, testSigninCodeBurst) }

func testSigninCodeBurst(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	acct := e.signup("second@example.com", "goodpass1")
	_, ch := e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "goodpass1"})
	id := ch["challenge_id"].(string)
	right := e.lastCode("second@example.com")
	wrong := wrongCodes(burstSize, right)
	verify := func(code string) (int, map[string]any) {
		return e.call("POST", "/api/v1/signin/verify", map[string]string{"challenge_id": id, "code": code,
			"client_id": "cloudkeep-agent", "device_name": "laptop"})
	}
	checkCodeBurst(t, burst(burstSize, func(i int) (int, map[string]any) { return verify(wrong[i]) }))
	if code, r := verify(right); code != 400 || r["error"] != "too_many_tries" {
		t.Errorf("the right code after the burst: %d %v, want 400 too_many_tries", code, r)
	}
}

// A right code is used once, even when sent many times at once.
func TestConcurrency_SigninCodeUsedOnce(t *testing.T) { forEachStore(t, testSigninCodeUsedOnce) }

func testSigninCodeUsedOnce(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	acct := e.signup("once@example.com", "goodpass1")
	_, ch := e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "goodpass1"})
	req := map[string]string{"challenge_id": ch["challenge_id"].(string), "code": e.lastCode("once@example.com"),
		"client_id": "cloudkeep-agent", "device_name": "laptop"}
	as := burst(20, func(int) (int, map[string]any) { return e.call("POST", "/api/v1/signin/verify", req) })
	if n := tally(as)["200 <nil>"]; n != 1 {
		t.Errorf("%d sign-ins with one code, want 1: %v", n, tally(as))
	}
}

func TestConcurrency_WrongPasswordBurst(t *testing.T) { forEachStore(t, testWrongPasswordBurst) }

func testWrongPasswordBurst(t *testing.T, newEnv func(testing.TB) *env) {
	for _, tc := range []struct {
		name string
		from func(i int) string
	}{
		{"one address", func(int) string { return "203.0.113.7" }},
		{"many addresses", func(i int) string { return fmt.Sprintf("198.51.100.%d", i%250+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			acct := e.signup("pw@example.com", "goodpass1")
			as := burst(burstSize, func(i int) (int, map[string]any) {
				return e.callFrom(tc.from(i), "POST", "/api/v1/signin", map[string]string{"username": acct, "password": "wrongpass1"})
			})
			got := tally(as)
			t.Logf("answers: %v", got)
			bad, captcha, busy := got["401 invalid_credentials"], got["403 captcha_required"], got["503 busy"]
			if bad > captchaAfter || bad < 1 || captcha < burstSize-captchaAfter-busy || bad+captcha+busy != burstSize {
				t.Errorf("answers: %v; want at most %d invalid_credentials, the rest captcha_required", got, captchaAfter)
			}
			th, _ := e.svc.store.Throttle(context.Background(), e.svc.signinCounters("account:"+acct, "")[0].key)
			if th.Failures != bad {
				t.Errorf("the user name's counter reads %d after %d failures", th.Failures, bad)
			}
		})
	}
}

func TestConcurrency_RefreshBurst(t *testing.T) { forEachStore(t, testRefreshBurst) }

func testRefreshBurst(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	acct := e.signup("refresh@example.com", "goodpass1")
	tok := e.connect(acct, "goodpass1", "refresh@example.com", "laptop")
	req := map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)}
	as := burst(burstSize, func(int) (int, map[string]any) { return e.call("POST", "/api/v1/token", req) })
	pairs := map[string]bool{}
	for _, a := range as {
		if a.status != 200 {
			t.Fatalf("refresh in the burst: %d %v", a.status, a.body)
		}
		pairs[fmt.Sprint(a.body["refresh_token"], " ", a.body["access_token"])] = true
	}
	if len(pairs) != 1 {
		t.Fatalf("%d different token pairs from one refresh token, want 1", len(pairs))
	}
	next := as[0].body["refresh_token"].(string)
	if next == req["refresh_token"] {
		t.Fatal("the refresh token was not rotated")
	}
	if devs, _ := e.svc.Devices(context.Background(), acct); len(devs) != 1 {
		t.Fatalf("devices after the burst: %+v, want the laptop still connected", devs)
	}
	// Past the grace, the spent token is a copy: the device is disconnected.
	e.clock.advance(refreshGrace + time.Second)
	if code, r := e.call("POST", "/api/v1/token", req); code != 400 || r["error"] != "invalid_grant" {
		t.Errorf("spent token after the grace: %d %v, want 400 invalid_grant", code, r)
	}
	req["refresh_token"] = next
	if code, r := e.call("POST", "/api/v1/token", req); code != 400 || r["error"] != "invalid_grant" {
		t.Errorf("new token after the reuse: %d %v, want the device disconnected", code, r)
	}
}
