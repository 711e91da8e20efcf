package account

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// In a real browser, under the page's CSP, choosing a region sets its dial
// code, until the person picks a dial code themselves.
func TestBrowser_DialCodeFollowsRegionChange(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(e.url+"/signup?by=phone"), chromedp.WaitVisible(chromedp.ID("dial_code")))
	choose := func(id, value string) {
		t.Helper()
		do(t, ctx, chromedp.SetValue(chromedp.ID(id), value))
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("`+id+`").dispatchEvent(new Event("change"))`)); err != nil {
			t.Fatalf("change %s: %v", id, err)
		}
	}
	dial := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("dial_code")))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	choose("region", "AT")
	if got := dial(); got != "+43" {
		t.Errorf("after choosing Austria: dial code %q, want +43", got)
	}
	choose("region", "SZ")
	if got := dial(); got != "+268" {
		t.Errorf("after choosing Eswatini: dial code %q, want +268", got)
	}
	choose("dial_code", "+44")
	choose("region", "DE")
	if got := dial(); got != "+44" {
		t.Errorf("a dial code picked by hand was replaced: %q, want +44", got)
	}
}
