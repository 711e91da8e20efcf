package account

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudkeep/cloudkeep/internal/chromiumtest"
)

// browser starts headless Chromium with a phone-sized window.
func browser(t testing.TB) context.Context {
	t.Helper()
	return chromiumtest.Start(t, 412, 915, 90*time.Second)
}

// shot saves a screenshot of the page: under $CLOUDKEEP_SCREENSHOTS when
// set (make screenshots sets docs/screenshots), else in a temp dir.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("CLOUDKEEP_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("at %s: %v\npage: %s", loc, err, body)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func fillBirth(year string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS(`select[name="birth_month"]`), "4"),
		chromedp.SetValue(chromedp.CSS(`select[name="birth_day"]`), "1"),
		chromedp.SendKeys(chromedp.CSS(`input[name="birth_year"]`), year),
	}
}

func submit() chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))
}

func TestBrowser_SignupByEmail(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(e.url+"/signup"), chromedp.WaitVisible(chromedp.ID("email")))
	shot(t, ctx, "signup-email")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"), chromedp.SetValue(chromedp.ID("region"), "GB"))
	do(t, ctx, fillBirth("1990")...)
	do(t, ctx, submit(), chromedp.WaitVisible(chromedp.ID("code")))
	if got := text(t, ctx, "main p"); !strings.Contains(got, "a•••@example.com") {
		t.Errorf("verify page: %q", got)
	}
	pin := e.lastCode("ada@example.com")
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	do(t, ctx, chromedp.SendKeys(chromedp.ID("code"), wrong), submit(), chromedp.WaitVisible(chromedp.CSS(".error")))
	if got := text(t, ctx, ".error"); got != "Wrong code: 4 tries left." {
		t.Errorf("wrong PIN says %q", got)
	}
	shot(t, ctx, "signup-wrong-pin")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("code"), pin), submit(), chromedp.WaitVisible(chromedp.ID("confirm")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("password"), "abc"), chromedp.SendKeys(chromedp.ID("confirm"), "abc"),
		submit(), chromedp.WaitVisible(chromedp.ID("password-error")))
	if got := text(t, ctx, "#password-error"); got != "The password needs at least 8 characters and a digit." {
		t.Errorf("weak password says %q", got)
	}
	shot(t, ctx, "signup-weak-password")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("password"), "lovelace1815"), chromedp.SendKeys(chromedp.ID("confirm"), "lovelace1815"),
		submit(), chromedp.WaitVisible(chromedp.ID("account-id")))
	id := text(t, ctx, "#account-id")
	if a, err := e.svc.store.AccountByID(ctx, id); err != nil || a.Email != "ada@example.com" || a.Region != "GB" {
		t.Errorf("account %q: %+v, %v", id, a, err)
	}
	shot(t, ctx, "signup-done")
}

func TestBrowser_SignupByPhoneWithCaptcha(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(e.url+"/signup?by=phone"), chromedp.WaitVisible(chromedp.ID("phone")))
	shot(t, ctx, "signup-phone")
	captchaID, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="captcha_id"]`)))
	if err != nil || captchaID == "" {
		t.Fatalf("captcha id: %q %v", captchaID, err)
	}
	do(t, ctx, chromedp.SetValue(chromedp.ID("dial_code"), "+49"), chromedp.SendKeys(chromedp.ID("phone"), "15112345678"),
		chromedp.SetValue(chromedp.ID("region"), "DE"), chromedp.SendKeys(chromedp.ID("captcha"), captchaSolution(captchaID)))
	do(t, ctx, fillBirth("1985")...)
	do(t, ctx, submit(), chromedp.WaitVisible(chromedp.ID("code")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("code"), e.lastCode("+4915112345678")), submit(), chromedp.WaitVisible(chromedp.ID("confirm")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("password"), "phone-pass-9"), chromedp.SendKeys(chromedp.ID("confirm"), "phone-pass-9"),
		submit(), chromedp.WaitVisible(chromedp.ID("account-id")))
	a, err := e.svc.store.AccountByID(ctx, text(t, ctx, "#account-id"))
	if err != nil || a.Phone != "+4915112345678" {
		t.Errorf("account: %+v, %v", a, err)
	}
}

func TestBrowser_SigninAndApproveDevice(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("grace@example.com", "hopper1906")
	_, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "laptop"})
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(d["verification_uri_complete"].(string)), chromedp.WaitVisible(chromedp.ID("username")))
	shot(t, ctx, "signin")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("username"), "grace@example.com"), chromedp.SendKeys(chromedp.ID("password"), "hopper1906"),
		submit(), chromedp.WaitVisible(chromedp.ID("code")))
	shot(t, ctx, "signin-code")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("code"), e.lastCode("grace@example.com")), submit(), chromedp.WaitVisible(chromedp.ID("device-name")))
	if got := text(t, ctx, ".question"); got != "Connect device laptop to your cloud?" {
		t.Errorf("question: %q", got)
	}
	shot(t, ctx, "device-approve")
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[value="approve"]`)), chromedp.WaitVisible(chromedp.ID("device-result")))
	e.clock.advance(10 * time.Second)
	code, tok := e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": d["device_code"].(string)})
	if code != 200 || tok["account_id"] != acct {
		t.Fatalf("token after approval: %d %v", code, tok)
	}
	do(t, ctx, chromedp.Navigate(e.url+"/account"), chromedp.WaitVisible(chromedp.CSS("table.devices")))
	if got := text(t, ctx, "table.devices tbody td"); got != "laptop" {
		t.Errorf("devices: %q", got)
	}
	shot(t, ctx, "account")
	do(t, ctx, chromedp.Click(chromedp.CSS(`table.devices button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if _, r := e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)}); r["error"] != "invalid_grant" {
		t.Errorf("a disconnected device still refreshes: %v", r)
	}
}

// Every page carries the security headers, and a form posted without its
// CSRF token is refused.
func TestWeb_HeadersAndCSRF(t *testing.T) {
	e := newEnv(t)
	resp, err := httpGet(e.url + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	cookie := resp.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Errorf("cookie: %q", cookie)
	}
	code, body := postForm(e.url+"/signin", "username=a%40example.com&password=x")
	if code != 403 || !strings.Contains(body, "This form expired") {
		t.Errorf("POST without CSRF token: %d", code)
	}
}
