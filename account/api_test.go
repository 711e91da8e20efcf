package account

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestAPI_SignupByEmail(t *testing.T) {
	e := newEnv(t)
	code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "Alice@Example.com", "region": "DE", "birth_date": "1990-04-01"})
	if code != 200 || r["sent_to"] != "a•••@example.com" {
		t.Fatalf("signup: %d %v", code, r)
	}
	id := r["signup_id"].(string)
	msgs := e.mail.messages("alice@example.com")
	if len(msgs) != 1 || msgs[0].Subject != "Your cloudkeep verification PIN" {
		t.Fatalf("mail: %+v", msgs)
	}
	pin := e.lastCode("alice@example.com")
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	code, r = e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": wrong})
	if code != 400 || r["error"] != "wrong_code" || r["message"] != "Wrong code: 4 tries left." || r["tries_left"] != 4.0 {
		t.Errorf("wrong PIN: %d %v", code, r)
	}
	// No password before the PIN.
	if code, r := e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": "goodpass1", "confirm": "goodpass1"}); code != 400 || r["error"] != "code_expired" {
		t.Errorf("password before PIN: %d %v", code, r)
	}
	if code, r := e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": pin}); code != 200 {
		t.Fatalf("right PIN: %d %v", code, r)
	}
	for _, tc := range []struct{ password, confirm, field, msg string }{
		{"short1", "short1", "password", "The password needs at least 8 characters."},
		{"longpassword", "longpassword", "password", "The password needs a digit."},
		{"12345678", "12345678", "password", "The password needs a letter."},
		{"abc", "abc", "password", "The password needs at least 8 characters and a digit."},
		{"goodpass1", "goodpass2", "confirm", "The passwords do not match."},
	} {
		code, r := e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": tc.password, "confirm": tc.confirm})
		fields, _ := r["fields"].(map[string]any)
		if code != 400 || fields[tc.field] != tc.msg {
			t.Errorf("password %q: %d %v, want %s: %q", tc.password, code, r, tc.field, tc.msg)
		}
	}
	code, r = e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": "goodpass1", "confirm": "goodpass1"})
	acct, _ := r["account_id"].(string)
	if code != 200 || len(acct) != 10 {
		t.Fatalf("finish: %d %v", code, r)
	}
	a, err := e.svc.store.AccountByID(context.Background(), acct)
	if err != nil || a.Email != "alice@example.com" || a.Region != "DE" || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Errorf("stored account: %+v, %v", a, err)
	}
	// The sign-up is spent.
	if code, _ := e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": "otherpass1", "confirm": "otherpass1"}); code != 400 {
		t.Errorf("second finish: %d", code)
	}
}

func TestAPI_SignupByPhoneNeedsCaptcha(t *testing.T) {
	e := newEnv(t)
	_, c := e.call("GET", "/api/v1/captcha", nil)
	cid := c["captcha_id"].(string)
	req := map[string]string{"dial_code": "+49", "phone": "151 12345678", "region": "DE", "birth_date": "1990-04-01",
		"captcha_id": cid, "captcha": "999999x"}
	code, r := e.call("POST", "/api/v1/signup", req)
	if fields, _ := r["fields"].(map[string]any); code != 400 || fields["captcha"] == nil {
		t.Fatalf("wrong captcha: %d %v", code, r)
	}
	_, c = e.call("GET", "/api/v1/captcha", nil)
	req["captcha_id"], req["captcha"] = c["captcha_id"].(string), captchaSolution(c["captcha_id"].(string))
	code, r = e.call("POST", "/api/v1/signup", req)
	if code != 200 {
		t.Fatalf("signup: %d %v", code, r)
	}
	if e.sms.auth[0] != "Bearer sms-gateway-secret" {
		t.Errorf("webhook auth header: %q", e.sms.auth[0])
	}
	id := r["signup_id"].(string)
	e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": e.lastCode("+4915112345678")})
	code, r = e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": "goodpass1", "confirm": "goodpass1"})
	if code != 200 {
		t.Fatalf("finish: %d %v", code, r)
	}
	a, _ := e.svc.store.AccountByID(context.Background(), r["account_id"].(string))
	if a.Phone != "+4915112345678" || a.Email != "" {
		t.Errorf("account: %+v", a)
	}
}

func TestAPI_SignupValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		req   map[string]string
		field string
		msg   string
	}{
		{map[string]string{"email": "not-an-email", "region": "DE", "birth_date": "1990-01-01"}, "email", "Enter an email address such as name@example.com."},
		{map[string]string{"email": "a@example.com", "region": "XX", "birth_date": "1990-01-01"}, "region", "Choose your country or region."},
		{map[string]string{"email": "a@example.com", "region": "DE", "birth_date": "1990-02-30"}, "birth_date", "Enter your date of birth."},
		{map[string]string{"email": "a@example.com", "region": "DE", "birth_date": time.Now().AddDate(-12, 0, 0).Format(time.DateOnly)}, "birth_date", "You must be at least 13 to create an account."},
		{map[string]string{"email": "a@example.com", "region": "KR", "birth_date": time.Now().AddDate(-13, -6, 0).Format(time.DateOnly)}, "birth_date", "You must be at least 14 to create an account."},
		{map[string]string{"dial_code": "+49", "phone": "123", "region": "DE", "birth_date": "1990-01-01"}, "phone", "Enter a valid mobile number for +49."},
		{map[string]string{"region": "DE", "birth_date": "1990-01-01"}, "email", "Enter an email address or a phone number."},
	} {
		code, r := e.call("POST", "/api/v1/signup", tc.req)
		fields, _ := r["fields"].(map[string]any)
		if code != 400 || fields[tc.field] != tc.msg {
			t.Errorf("%v: %d %v, want %s: %q", tc.req, code, r, tc.field, tc.msg)
		}
	}
}

// Signing up with an address that has an account answers the same; only
// the message sent there says so.
func TestAPI_SignupExistingAddressRevealsNothing(t *testing.T) {
	e := newEnv(t)
	e.signup("alice@example.com", "goodpass1")
	e.clock.advance(61 * time.Second) // one PIN a minute per address, account or not
	code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "alice@example.com", "region": "DE", "birth_date": "1990-04-01"})
	if code != 200 || r["signup_id"] == nil || r["sent_to"] != "a•••@example.com" {
		t.Fatalf("got %d %v, want the same answer as a new address", code, r)
	}
	msgs := e.mail.messages("alice@example.com")
	last := msgs[len(msgs)-1]
	if !strings.Contains(last.Body, "already has one") || codeRE.MatchString(last.Body) {
		t.Errorf("message to the owner: %q", last.Body)
	}
	code, r = e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": r["signup_id"].(string), "pin": "123456"})
	if code != 400 || r["error"] != "wrong_code" {
		t.Errorf("verify: %d %v", code, r)
	}
}

func TestAPI_CodeRules(t *testing.T) {
	e := newEnv(t)
	_, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "c@example.com", "region": "DE", "birth_date": "1990-04-01"})
	id := r["signup_id"].(string)
	// Resend waits a minute.
	code, r := e.call("POST", "/api/v1/signup/resend", map[string]string{"signup_id": id})
	if code != 429 || r["error"] != "resend_too_soon" || r["message"] != "A code was just sent: you can ask for another in 1m0s." {
		t.Errorf("early resend: %d %v", code, r)
	}
	// Five wrong tries use the code up, even for the right one after.
	pin := e.lastCode("c@example.com")
	for i := 4; i >= 0; i-- {
		_, r = e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": "00000" + string(rune('0'+i))})
		if pin == "00000"+string(rune('0'+i)) {
			t.Skip("the random PIN hit a test guess")
		}
	}
	if r["error"] != "too_many_tries" {
		t.Errorf("fifth wrong try: %v", r)
	}
	if code, r = e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": pin}); r["error"] != "too_many_tries" {
		t.Errorf("right PIN after 5 wrong: %d %v", code, r)
	}
	// A new code after a minute; it expires after ten.
	e.clock.advance(61 * time.Second)
	if code, r := e.call("POST", "/api/v1/signup/resend", map[string]string{"signup_id": id}); code != 200 {
		t.Fatalf("resend: %d %v", code, r)
	}
	e.clock.advance(11 * time.Minute)
	if _, r := e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": e.lastCode("c@example.com")}); r["error"] != "code_expired" {
		t.Errorf("expired PIN: %v", r)
	}
	// At most ten codes a day per address.
	var last map[string]any
	for range 12 {
		e.clock.advance(61 * time.Second)
		_, last = e.call("POST", "/api/v1/signup/resend", map[string]string{"signup_id": id})
	}
	if last["error"] != "too_many_codes" {
		t.Errorf("twelfth code of the day: %v", last)
	}
	// Codes are single use.
	acct := e.signup("d@example.com", "goodpass1")
	_, ch := e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "goodpass1"})
	signinCode := e.lastCode("d@example.com")
	verify := map[string]string{"challenge_id": ch["challenge_id"].(string), "code": signinCode, "client_id": "cloudkeep-agent", "device_name": "laptop"}
	if code, _ := e.call("POST", "/api/v1/signin/verify", verify); code != 200 {
		t.Fatal("first use refused")
	}
	if code, r := e.call("POST", "/api/v1/signin/verify", verify); code != 400 || r["error"] != "code_expired" {
		t.Errorf("second use: %d %v", code, r)
	}
}

func TestAPI_SigninLockoutAndCaptcha(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("e@example.com", "goodpass1")
	bad := map[string]string{"username": "e@example.com", "password": "wrongpass1"}
	for i := range 3 {
		code, r := e.call("POST", "/api/v1/signin", bad)
		if code != 401 || r["message"] != "The user name or password is wrong." {
			t.Fatalf("failure %d: %d %v", i+1, code, r)
		}
	}
	// After 3 failures the captcha is required, even with the right password.
	code, r := e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "goodpass1"})
	if code != 403 || r["error"] != "captcha_required" {
		t.Fatalf("4th try without captcha: %d %v", code, r)
	}
	solve := func(m map[string]string) map[string]string {
		_, c := e.call("GET", "/api/v1/captcha", nil)
		m["captcha_id"], m["captcha"] = c["captcha_id"].(string), captchaSolution(c["captcha_id"].(string))
		return m
	}
	e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "wrongpass1"}))
	code, r = e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "wrongpass1"}))
	if code != 401 {
		t.Fatalf("5th failure: %d %v", code, r)
	}
	// Locked: even the right password waits 30 s, then the lockout doubles.
	code, r = e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "goodpass1"}))
	if code != 429 || r["error"] != "locked" || r["message"] != "Too many failed attempts: try again in 30s." {
		t.Fatalf("locked: %d %v", code, r)
	}
	e.clock.advance(31 * time.Second)
	e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "wrongpass1"}))
	if _, r = e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "goodpass1"})); r["message"] != "Too many failed attempts: try again in 1m0s." {
		t.Errorf("second lockout: %v", r)
	}
	e.clock.advance(61 * time.Second)
	if code, r := e.call("POST", "/api/v1/signin", solve(map[string]string{"username": "e@example.com", "password": "goodpass1"})); code != 200 {
		t.Errorf("after the lockout: %d %v", code, r)
	}
}

// Sign-in answers the same for an unknown account and a wrong password.
func TestAPI_SigninRevealsNoAccount(t *testing.T) {
	e := newEnv(t)
	e.signup("f@example.com", "goodpass1")
	_, known := e.call("POST", "/api/v1/signin", map[string]string{"username": "f@example.com", "password": "wrongpass1"})
	_, unknown := e.call("POST", "/api/v1/signin", map[string]string{"username": "nobody@example.com", "password": "wrongpass1"})
	if known["message"] != unknown["message"] || known["error"] != unknown["error"] {
		t.Errorf("known account %v, unknown %v: must be the same", known, unknown)
	}
}

func TestAPI_DeviceFlowAndTokens(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("g@example.com", "goodpass1")
	code, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "laptop"})
	if code != 200 || d["verification_uri"] != e.url+"/device" || d["interval"] != 5.0 {
		t.Fatalf("authorize: %d %v", code, d)
	}
	poll := map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": d["device_code"].(string)}
	if _, r := e.call("POST", "/api/v1/token", poll); r["error"] != "authorization_pending" {
		t.Errorf("first poll: %v", r)
	}
	if _, r := e.call("POST", "/api/v1/token", poll); r["error"] != "slow_down" || r["interval"] != 10.0 {
		t.Errorf("fast poll: %v", r)
	}
	if err := e.svc.ApproveDevice(context.Background(), strings.ToLower(d["user_code"].(string)), acct, true); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(11 * time.Second)
	code, tok := e.call("POST", "/api/v1/token", poll)
	if code != 200 || tok["account_id"] != acct || tok["token_type"] != "Bearer" || tok["expires_in"] != 900.0 {
		t.Fatalf("tokens: %d %v", code, tok)
	}
	var c accessClaims
	if err := e.svc.keys.Verify(context.Background(), tok["access_token"].(string), &c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != acct || c.Issuer != e.url || c.Audience[0] != "cloudkeep-agent" || c.AuthorizedParty != "cloudkeep-agent" ||
		c.Device != "laptop" || c.Expiry.Time().Sub(c.IssuedAt.Time()) != 15*time.Minute {
		t.Errorf("claims: %+v", c)
	}
	if err := c.Claims.Validate(jwt.Expected{Issuer: e.url, AnyAudience: jwt.Audience{"cloudkeep-agent"}}); err != nil {
		t.Errorf("claims do not validate: %v", err)
	}
	if _, r := e.call("POST", "/api/v1/token", poll); r["error"] != "invalid_grant" {
		t.Errorf("device code used twice: %v", r)
	}
	// Refresh rotates; the old token presented again disconnects the device.
	refresh := map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)}
	code, tok2 := e.call("POST", "/api/v1/token", refresh)
	if code != 200 || tok2["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh: %d %v", code, tok2)
	}
	e.clock.advance(refreshGrace + time.Second) // past the grace: a copy, not a retry
	if _, r := e.call("POST", "/api/v1/token", refresh); r["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %v", r)
	}
	refresh["refresh_token"] = tok2["refresh_token"].(string)
	if _, r := e.call("POST", "/api/v1/token", refresh); r["error"] != "invalid_grant" {
		t.Errorf("after reuse the device must be disconnected: %v", r)
	}
	if devs, _ := e.svc.Devices(context.Background(), acct); len(devs) != 0 {
		t.Errorf("devices after reuse: %+v", devs)
	}
}

func TestAPI_DeniedAndExpiredDevice(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("h@example.com", "goodpass1")
	_, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "nas"})
	e.svc.ApproveDevice(context.Background(), d["user_code"].(string), acct, false)
	poll := map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": d["device_code"].(string)}
	if _, r := e.call("POST", "/api/v1/token", poll); r["error"] != "access_denied" {
		t.Errorf("denied: %v", r)
	}
	_, d = e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "nas"})
	e.clock.advance(11 * time.Minute)
	poll["device_code"] = d["device_code"].(string)
	if _, r := e.call("POST", "/api/v1/token", poll); r["error"] != "expired_token" {
		t.Errorf("expired: %v", r)
	}
	if code, r := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "intruder", "device_name": "x"}); code != 401 || r["error"] != "invalid_client" {
		t.Errorf("unknown client: %d %v", code, r)
	}
}

func TestAPI_RevokeAndMe(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("i@example.com", "goodpass1")
	tok := e.connect(acct, "goodpass1", "i@example.com", "desktop")
	req, _ := newBearer(e.url+"/api/v1/me", tok["access_token"].(string))
	me := doJSON(t, req)
	if me["account_id"] != acct || me["device"] != "desktop" {
		t.Errorf("me: %v", me)
	}
	if code, _ := e.call("POST", "/api/v1/revoke", map[string]string{"token": tok["refresh_token"].(string)}); code != 200 {
		t.Errorf("revoke: %d", code)
	}
	if _, r := e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)}); r["error"] != "invalid_grant" {
		t.Errorf("refresh after revoke: %v", r)
	}
	if r := doJSON(t, req); r["error"] != "invalid_token" {
		t.Errorf("me after revoke: %v", r)
	}
}

func TestAPI_BadInput(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		body   string
		status int
		err    string
	}{
		{`{"email":`, 400, "invalid_json"},
		{``, 400, "invalid_json"},
		{`{"email":"a@example.com","colour":"blue"}`, 400, "invalid_json"},
		{`[1,2,3]`, 400, "invalid_json"},
		{`{"region":"DE"} {"region":"DE"}`, 400, "invalid_json"},
		{`{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large"},
	} {
		code, r := e.call("POST", "/api/v1/signup", tc.body)
		if code != tc.status || r["error"] != tc.err {
			t.Errorf("body %.40q: %d %v, want %d %s", tc.body, code, r, tc.status, tc.err)
		}
	}
	if code, r := e.call("POST", "/api/v1/token", map[string]string{"grant_type": "password"}); code != 400 || r["error"] != "unsupported_grant_type" {
		t.Errorf("grant type: %d %v", code, r)
	}
}

func TestOIDC_Discovery(t *testing.T) {
	e := newEnv(t)
	_, d := e.call("GET", "/.well-known/openid-configuration", nil)
	if d["issuer"] != e.url || d["jwks_uri"] != e.url+"/jwks.json" {
		t.Errorf("discovery: %v", d)
	}
	_, jwks := e.call("GET", "/jwks.json", nil)
	keys := jwks["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["kid"] == "" || keys[0].(map[string]any)["alg"] != "ES256" {
		t.Errorf("jwks: %v", jwks)
	}
	// Rotation keeps the previous key published.
	if err := e.svc.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, jwks = e.call("GET", "/jwks.json", nil)
	if n := len(jwks["keys"].([]any)); n != 2 {
		t.Errorf("after rotation: %d keys, want 2", n)
	}
	reloaded, err := OpenKeys(context.Background(), e.svc.store, e.svc.secret, e.dir, 15*time.Minute, e.svc.log)
	if err != nil || len(reloaded.JWKS().Keys) != 2 {
		t.Errorf("keys on disk: %v, %v", reloaded, err)
	}
}

// A full run's log holds no password, PIN, code, token or key.
func TestLogs_HoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("j@example.com", "sekret-pass-77")
	pin := e.mail.messages("j@example.com")[0].Body
	tok := e.connect(acct, "sekret-pass-77", "j@example.com", "laptop")
	e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)})
	e.call("POST", "/api/v1/signin", map[string]string{"username": acct, "password": "wrong-pass-88"})
	logs := e.logs.String()
	secrets := []string{"sekret-pass-77", "wrong-pass-88", codeRE.FindString(pin), tok["access_token"].(string),
		tok["refresh_token"].(string), e.lastCode("j@example.com"), "sms-gateway-secret", "j@example.com"}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log holds a secret %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "code sent") || !strings.Contains(logs, "signed in") {
		t.Errorf("the log lacks the events:\n%s", logs)
	}
}

// Captchas kept in the Store can be checked by another replica.
func TestCaptcha_InTheStore(t *testing.T) {
	e := newEnv(t)
	cs := captchaStore{e.svc.store}
	cs.Set("abc", []byte{1, 2, 3})
	if got := cs.Get("abc", false); string(got) != "\x01\x02\x03" {
		t.Fatalf("got %v", got)
	}
	if got := cs.Get("abc", true); got == nil {
		t.Fatal("lost before clear")
	}
	if got := cs.Get("abc", false); got != nil {
		t.Errorf("a cleared captcha is still there: %v", got)
	}
}

func TestClientIP_TrustedProxies(t *testing.T) {
	h := &handler{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},                  // not a proxy: its header is ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},                    // the proxy's client
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // the right-most untrusted hop
		{"10.1.2.3:5000", "", "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := h.clientIP(r); got != tc.want {
			t.Errorf("%s via %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
