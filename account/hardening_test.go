package account

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// captcha returns a solved captcha: its id and its digits.
func (e *env) captcha() (string, string) {
	e.t.Helper()
	_, c := e.call("GET", "/api/v1/captcha", nil)
	id := c["captcha_id"].(string)
	return id, captchaSolution(id)
}

// solved adds a solved captcha to a request.
func (e *env) solved(req map[string]string) map[string]string {
	req["captcha_id"], req["captcha"] = e.captcha()
	return req
}

// failSignin makes n wrong sign-ins as user from ip, solving the captcha.
func (e *env) failSignin(ip, user string, n int) {
	e.t.Helper()
	for range n {
		if code, r := e.callFrom(ip, "POST", "/api/v1/signin", e.solved(map[string]string{"username": user, "password": "wrongpass1"})); code != 401 {
			e.t.Fatalf("wrong password from %s: %d %v", ip, code, r)
		}
	}
}

// The counters behave the same whether or not the account exists: three
// failures for a name, from three addresses, ask the next address for the
// captcha either way.
func TestThrottle_RevealsNoAccount(t *testing.T) {
	e := newEnv(t)
	e.signup("known@example.com", "goodpass1")
	for _, user := range []string{"known@example.com", "unknown@example.com"} {
		for i := range 3 {
			e.callFrom(fmt.Sprintf("192.0.2.%d", i+1), "POST", "/api/v1/signin", map[string]string{"username": user, "password": "wrongpass1"})
		}
		code, r := e.callFrom("192.0.2.99", "POST", "/api/v1/signin", map[string]string{"username": user, "password": "wrongpass1"})
		if code != 403 || r["error"] != "captcha_required" {
			t.Errorf("%s, 4th failure from a new address: %d %v, want 403 captcha_required", user, code, r)
		}
	}
}

// Failures from one address lock that address out of the account, not the
// account's owner elsewhere: she only solves the captcha.
func TestThrottle_LockIsPerAddress(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("nina@example.com", "goodpass1")
	e.failSignin("203.0.113.66", "nina@example.com", 5)
	code, r := e.callFrom("203.0.113.66", "POST", "/api/v1/signin", e.solved(map[string]string{"username": acct, "password": "goodpass1"}))
	if code != 429 || r["error"] != "locked" || r["message"] != "Too many failed attempts: try again in 30s." {
		t.Errorf("the attacker's address: %d %v, want 429 locked", code, r)
	}
	code, r = e.callFrom("198.51.100.5", "POST", "/api/v1/signin", map[string]string{"username": "nina@example.com", "password": "goodpass1"})
	if code != 403 || r["error"] != "captcha_required" {
		t.Errorf("Nina without captcha: %d %v, want 403 captcha_required", code, r)
	}
	code, r = e.callFrom("198.51.100.5", "POST", "/api/v1/signin", e.solved(map[string]string{"username": "nina@example.com", "password": "goodpass1"}))
	if code != 200 || r["challenge_id"] == nil {
		t.Errorf("Nina with the captcha from her own address: %d %v, want 200", code, r)
	}
}

// Sign-ups for an address, from many client addresses, neither spend the
// owner's sign-in codes nor flood her mailbox.
func TestSignup_CannotLockOutSignin(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("nina@example.com", "goodpass1")
	before := len(e.mail.messages("nina@example.com"))
	for round := range 3 {
		for i := range 11 {
			e.callFrom(fmt.Sprintf("192.0.2.%d", 11*round+i+1), "POST", "/api/v1/signup",
				map[string]string{"email": "nina@example.com", "region": "DE", "birth_date": "1990-04-01"})
		}
		e.clock.advance(61 * time.Second)
	}
	if n := len(e.mail.messages("nina@example.com")) - before; n > existsMailsPerDay {
		t.Errorf("%d mails to Nina about sign-ups, want at most %d a day", n, existsMailsPerDay)
	}
	code, r := e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "goodpass1"})
	if code != 200 || r["sent_to"] != "n•••@example.com" {
		t.Fatalf("Nina's sign-in after the sign-ups: %d %v, want 200", code, r)
	}
	if got := e.mail.messages("nina@example.com"); got[len(got)-1].Subject != "Your cloudkeep sign-in code" {
		t.Errorf("last mail to Nina: %q, want her sign-in code", got[len(got)-1].Subject)
	}
}

// Refused sign-ups spend nothing and store nothing: a burst for one
// address makes one code row, and the day's PINs are still all there.
func TestSignup_RefusedSendsAreNotCounted(t *testing.T) {
	e := newEnv(t)
	req := map[string]string{"email": "x@example.com", "region": "DE", "birth_date": "1990-04-01"}
	as := burst(30, func(i int) (int, map[string]any) {
		return e.callFrom(fmt.Sprintf("192.0.2.%d", i+1), "POST", "/api/v1/signup", req)
	})
	if got := tally(as); got["200 <nil>"] != 1 || got["429 resend_too_soon"] != 29 {
		t.Errorf("burst of sign-ups for one address: %v, want one sent, the rest resend_too_soon", got)
	}
	if n := countCodeRows(t, e, "x@example.com"); n != 1 {
		t.Errorf("%d code rows for one address, want 1", n)
	}
	for i := 2; i <= signupCodesPerDay; i++ {
		e.clock.advance(61 * time.Second)
		if code, r := e.call("POST", "/api/v1/signup", req); code != 200 {
			t.Fatalf("PIN %d of the day: %d %v", i, code, r)
		}
	}
	e.clock.advance(61 * time.Second)
	code, r := e.call("POST", "/api/v1/signup", req)
	if code != 429 || r["error"] != "too_many_codes" || r["message"] != "Too many codes were sent to this address today: try again tomorrow." {
		t.Errorf("PIN %d of the day: %d %v, want 429 too_many_codes", signupCodesPerDay+1, code, r)
	}
}

func countCodeRows(t *testing.T, e *env, address string) int {
	t.Helper()
	var n int
	if err := e.svc.store.(*SQLite).db.QueryRow(`SELECT count(*) FROM codes WHERE address = ?`, address).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Email sign-ups are limited per client address.
func TestSignup_LimitedPerClient(t *testing.T) {
	e := newEnv(t)
	for i := range signupsPerClient {
		if code, r := e.callFrom("192.0.2.200", "POST", "/api/v1/signup", map[string]string{"email": fmt.Sprintf("u%d@example.com", i),
			"region": "DE", "birth_date": "1990-04-01"}); code != 200 {
			t.Fatalf("sign-up %d: %d %v", i+1, code, r)
		}
	}
	code, r := e.callFrom("192.0.2.200", "POST", "/api/v1/signup", map[string]string{"email": "one-more@example.com", "region": "DE", "birth_date": "1990-04-01"})
	if code != 429 || r["error"] != "too_many_signups" || r["message"] != "Too many sign-ups from your network today: try again tomorrow." {
		t.Errorf("sign-up %d from one address: %d %v, want 429 too_many_signups", signupsPerClient+1, code, r)
	}
}

func TestSignupResend_SMSNeedsCaptcha(t *testing.T) {
	e := newEnv(t)
	code, r := e.call("POST", "/api/v1/signup", e.solved(map[string]string{"dial_code": "+49", "phone": "151 12345678", "region": "DE", "birth_date": "1990-04-01"}))
	if code != 200 {
		t.Fatalf("signup: %d %v", code, r)
	}
	id := r["signup_id"].(string)
	e.clock.advance(61 * time.Second)
	code, r = e.call("POST", "/api/v1/signup/resend", map[string]string{"signup_id": id})
	if code != 403 || r["error"] != "captcha_required" || r["message"] != "Solve the captcha to get another code by text message." {
		t.Errorf("resend without captcha: %d %v, want 403 captcha_required", code, r)
	}
	if n := len(e.sms.messages("+4915112345678")); n != 1 {
		t.Errorf("%d text messages, want 1", n)
	}
	if code, r := e.call("POST", "/api/v1/signup/resend", e.solved(map[string]string{"signup_id": id})); code != 200 {
		t.Errorf("resend with the captcha: %d %v", code, r)
	}
	if n := len(e.sms.messages("+4915112345678")); n != 2 {
		t.Errorf("%d text messages after the resend, want 2", n)
	}
}

// An email address that starts with "+" is mailed, never texted.
func TestDelivery_PlusEmailGoesByMail(t *testing.T) {
	e := newEnv(t)
	code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "+tag@example.com", "region": "DE", "birth_date": "1990-04-01"})
	if code != 200 {
		t.Fatalf("signup: %d %v", code, r)
	}
	if got := e.mail.messages("+tag@example.com"); len(got) != 1 || got[0].Subject != "Your cloudkeep verification PIN" {
		t.Errorf("mails: %+v", got)
	}
	if got := e.sms.messages("+tag@example.com"); len(got) != 0 {
		t.Errorf("texted to an email address: %+v", got)
	}
}

func TestMask_Multibyte(t *testing.T) {
	for in, want := range map[string]string{
		"ürsula@example.com": "ü•••@example.com",
		"+4915112345678":     "+49•••••••••78",
		"日本語のアドレス":           "日本語•••レス",
		"abc":                "abc",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignup_EmailLength(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 60000) + "@example.com"
	code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": long, "region": "DE", "birth_date": "1990-04-01"})
	fields, _ := r["fields"].(map[string]any)
	if code != 400 || fields["email"] != "An email address has at most 254 characters." {
		t.Errorf("a 60,000-character email: %d %v", code, fields)
	}
	if n := len(e.mail.messages("")); n != 0 {
		t.Errorf("%d mails sent", n)
	}
}

func TestDeviceName_Refused(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("dev@example.com", "goodpass1")
	const badChars = "The device name must not hold control or text-direction characters."
	const badLength = "Give the device a name of 1 to 64 characters."
	for _, tc := range []struct{ name, msg string }{
		{"laptop\u202Egpj.exe", badChars},
		{"lap\x00top", badChars},
		{"lap\ttop", badChars},
		{"a\u2066b", badChars},
		{"line\u2028two", badChars},
		{strings.Repeat("é", 65), badLength},
		{"", badLength},
		{"   ", badLength},
	} {
		code, r := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": tc.name})
		if fields, _ := r["fields"].(map[string]any); code != 400 || fields["device_name"] != tc.msg {
			t.Errorf("device flow with %q: %d %v, want %q", tc.name, code, r, tc.msg)
		}
		code, r = e.call("POST", "/api/v1/signin/verify", map[string]string{"challenge_id": "x", "code": "123456",
			"client_id": "cloudkeep-agent", "device_name": tc.name})
		if fields, _ := r["fields"].(map[string]any); code != 400 || fields["device_name"] != tc.msg {
			t.Errorf("password sign-in with %q: %d %v, want %q", tc.name, code, r, tc.msg)
		}
	}
	tok := e.connect(acct, "goodpass1", "dev@example.com", strings.Repeat("é", 64))
	if tok["access_token"] == nil {
		t.Errorf("64 two-byte characters refused: %v", tok)
	}
}

// A phone number typed in its national format finds the account made
// with its dial code, in the account's region only.
func TestSignin_NationalPhone(t *testing.T) {
	e := newEnv(t)
	hash := hashPassword("goodpass1")
	for _, a := range []Account{
		{ID: "1000000001", Phone: "+4915112345678", Region: "DE", PasswordHash: hash},
		{ID: "1000000002", Phone: "+4915187654321", Region: "AT", PasswordHash: hash}, // a German number, but an Austrian account
	} {
		if err := e.svc.store.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		user string
		want int
	}{
		{"015112345678", 200},
		{"0151 1234 5678", 200},
		{"(0151) 12345678", 200},
		{"+49 151 12345678", 200},
		{"015187654321", 401},
	} {
		code, r := e.callFrom(clientFor(tc.user), "POST", "/api/v1/signin", map[string]string{"username": tc.user, "password": "goodpass1"})
		if code != tc.want {
			t.Errorf("sign-in as %q: %d %v, want %d", tc.user, code, r, tc.want)
		}
	}
}

// Prune removes what expired, in every table unauthenticated calls fill.
func TestService_Prune(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "nas"})
	e.call("POST", "/api/v1/signin", map[string]string{"username": "nobody@example.com", "password": "wrongpass1"})
	e.call("POST", "/api/v1/signup", map[string]string{"email": "p@example.com", "region": "DE", "birth_date": "1990-04-01"})
	e.svc.NewSession(ctx, "1000000001")
	if err := e.svc.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	tables := []string{"codes", "budgets", "throttles", "sessions", "device_auths"}
	for _, table := range tables {
		if n := countRows(t, e, table); n == 0 {
			t.Errorf("%s: live rows were pruned", table)
		}
	}
	e.clock.advance(failureReset + time.Hour)
	if err := e.svc.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if n := countRows(t, e, table); n != 0 {
			t.Errorf("%s: %d rows after they expired, want 0", table, n)
		}
	}
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.svc.store.(*SQLite).db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// With every argon2 slot taken, a sign-in is answered 503 with
// Retry-After, by the API and by the page, and counts as no attempt.
func TestSignin_BusyAnswers503(t *testing.T) {
	e := newEnv(t)
	e.signup("busy@example.com", "goodpass1")
	for range cap(e.svc.argon) {
		e.svc.argon <- struct{}{}
	}
	req, _ := http.NewRequest("POST", e.url+"/api/v1/signin", strings.NewReader(`{"username":"busy@example.com","password":"goodpass1"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("API: %d, Retry-After %q; want 503, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	c := newWebClient(t, e.url)
	c.get("/signin")
	resp, body := c.post("/signin", url.Values{"username": {"busy@example.com"}, "password": {"goodpass1"}})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "The service is busy: try again in a second.") {
		t.Errorf("page: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for range cap(e.svc.argon) {
		<-e.svc.argon
	}
	if th, _ := e.svc.store.Throttle(context.Background(), "ip:127.0.0.1"); th.Failures != 0 {
		t.Errorf("busy answers counted as %d attempts", th.Failures)
	}
	if code, r := e.call("POST", "/api/v1/signin", map[string]string{"username": "busy@example.com", "password": "goodpass1"}); code != 200 {
		t.Errorf("once a slot is free: %d %v", code, r)
	}
}
