package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
)

// The bar's rate is the bytes sent over the time since the pass planned
// them, from its first drawing on: not the first part divided by the
// microsecond since the first Add ("5.9 TB/s").
func TestBarProgress_Rate(t *testing.T) {
	var out bytes.Buffer
	p := &barProgress{w: &out}
	p.Planned(1, 100<<20)
	time.Sleep(300 * time.Millisecond) // the first part on its way
	p.Add(5 << 20)
	rates := regexp.MustCompile(`\(([0-9.]+ [kMGT]?B)/s\)`).FindAllStringSubmatch(out.String(), -1)
	if len(rates) == 0 {
		t.Fatalf("no rate drawn: %q", out.String())
	}
	for _, r := range rates {
		n, err := humanize.ParseBytes(r[1])
		if err != nil {
			t.Fatal(err)
		}
		if limit := uint64(5<<20) * 10 / 3; n > limit { // 5 MiB in at least 0.3 s
			t.Errorf("rate %s/s, want at most %s/s", r[1], humanize.Bytes(limit))
		}
	}
}

// Bytes taken back (a failed request) lower the bar, and a pass that ends
// short of its plan leaves the bar where it stopped, not at 100%.
func TestBarProgress_TakeBackAndFinishShort(t *testing.T) {
	var out bytes.Buffer
	p := &barProgress{w: &out}
	p.Planned(1, 100)
	p.Add(60)
	p.Add(-60)
	p.Add(30)
	if got := p.bar.State().CurrentNum; got != 30 {
		t.Errorf("bar at %d after 60 sent, taken back, 30 sent; want 30", got)
	}
	p.finish()
	if got := p.bar.State().CurrentNum; got != 30 || strings.Contains(out.String(), "100%") {
		t.Errorf("bar at %d after finishing short, drawn %q; want 30 and never 100%%", got, out.String())
	}
}
