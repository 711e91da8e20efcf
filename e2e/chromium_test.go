package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cloudkeep/cloudkeep/internal/chromiumtest"
)

// startChromium starts headless Chromium ($CHROMIUM, else chromium on
// PATH) with the window of a phone (390×844) and returns its first tab. Without
// Chromium the test is skipped, and fails in CI.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	ctx := chromiumtest.Start(t, 390, 844, 3*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// incognito opens a tab in a new browser context of the browser behind
// ctx: it shares no cookie with the other tabs.
func incognito(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return tab
}

// chromeDo runs actions and fails the test with the page's address and
// text when one fails.
func chromeDo(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("at %s: %v\npage: %s", loc, err, body)
	}
}

// chromeEval evaluates a JavaScript expression in the page.
func chromeEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// chromeLocation is the address the tab shows.
func chromeLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return loc
}

// waitLocation waits until the tab's address satisfies ok.
func waitLocation(t *testing.T, ctx context.Context, what string, ok func(u *url.URL) bool) *url.URL {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc := chromeLocation(t, ctx)
		if u, err := url.Parse(loc); err == nil && ok(u) {
			return u
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("timed out waiting until %s: at %s\npage: %s", what, loc, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signInPages signs in on the sign-in page the tab shows, as a person
// does: name and password, then the code sent to email.
func (s *stack) signInPages(ctx context.Context, user, password, email string) {
	s.t.Helper()
	chromeDo(s.t, ctx, chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("code")))
	chromeDo(s.t, ctx, chromedp.SendKeys(chromedp.ID("code"), s.lastCode(email)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitNotPresent(chromedp.ID("code")))
}

// chromeCookies returns the cookies the browser holds for rawURL, as a
// Cookie header's value.
func chromeCookies(t *testing.T, ctx context.Context, rawURL string) string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{rawURL}})
	if err != nil {
		t.Fatalf("cookies of %s: %v", rawURL, err)
	}
	var parts []string
	for _, c := range res.Cookies {
		parts = append(parts, (&http.Cookie{Name: c.Name, Value: c.Value}).String())
	}
	return strings.Join(parts, "; ")
}
