package cli

import (
	"bytes"
	"regexp"
	"strconv"
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
	rates := drawnRates(t, out.String())
	if len(rates) == 0 {
		t.Fatalf("no rate drawn: %q", out.String())
	}
	for _, r := range rates {
		if limit := uint64(5<<20) * 10 / 3; r > limit { // 5 MiB in at least 0.3 s
			t.Errorf("rate %s/s, want at most %s/s", humanize.Bytes(r), humanize.Bytes(limit))
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

// Bytes the storage already holds (a resumed upload's parts, files already
// stored) move the bar on but never count in its rate: a resumed 30 MiB
// video with 20 MiB stored shows the rate of what is sent.
func TestBarProgress_FoundBytesNotInRate(t *testing.T) {
	var out bytes.Buffer
	p := &barProgress{w: &out}
	p.Planned(1, 30<<20)
	time.Sleep(300 * time.Millisecond)
	p.Found(20 << 20)
	p.Add(1 << 20)
	if st := p.bar.State(); st.CurrentNum != 1<<20 || st.Max != 10<<20 {
		t.Errorf("bar at %d of %d, want 1 MiB of the 10 MiB left to send", st.CurrentNum, st.Max)
	}
	for _, r := range drawnRates(t, out.String()) {
		if limit := uint64(1<<20) * 10 / 3; r > limit { // 1 MiB sent in at least 0.3 s
			t.Errorf("rate %s/s, want at most %s/s", humanize.Bytes(r), humanize.Bytes(limit))
		}
	}

	// A lost journal: every file is found stored, nothing is sent. The bar
	// goes away; the summary says what was found.
	out.Reset()
	p = &barProgress{w: &out}
	p.Planned(4, 40<<20)
	time.Sleep(300 * time.Millisecond)
	p.Found(40 << 20)
	for range 4 {
		p.FileDone()
	}
	p.finish()
	if rates := drawnRates(t, out.String()); len(rates) > 0 {
		t.Errorf("a rate drawn with nothing sent: %q", out.String())
	}
	if !strings.HasSuffix(out.String(), "\r") {
		t.Errorf("drawn %q, want the bar cleared at the end", out.String())
	}
}

// drawnRates returns the rates the bar drew, in bytes per second, less
// the rounding of its two or three digits (17.47 MB/s is drawn "18 MB/s").
func drawnRates(t *testing.T, drawn string) []uint64 {
	t.Helper()
	var out []uint64
	for _, r := range regexp.MustCompile(`\(([0-9.]+ [kMGT]?B)/s\)`).FindAllStringSubmatch(drawn, -1) {
		n, err := humanize.ParseBytes(r[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n*20/21)
	}
	return out
}

// While the walk goes on, the total grows as it finds files that are
// being sent meanwhile: the bar says "+" after the files planned so far,
// never draws more than 100% or a negative ETA, and once the walk is done
// shows the whole total and ends full.
func TestBarProgress_GrowingTotal(t *testing.T) {
	var out bytes.Buffer
	p := &barProgress{w: &out}
	step := func(f func()) {
		time.Sleep(120 * time.Millisecond) // past the bar's throttle: each step is drawn
		f()
	}
	p.Planned(1, 10<<20)
	step(func() { p.Add(8 << 20) })
	step(func() { p.Add(2 << 20); p.FileDone() }) // all planned so far is sent
	step(func() { p.Planned(1, 10<<20) })
	step(func() { p.Add(5 << 20) })
	step(func() { p.Planned(1, 20<<20) })
	step(func() { p.Walked() })
	step(func() { p.Add(25 << 20); p.FileDone(); p.FileDone() })
	p.finish()

	drawn := out.String()
	for _, want := range []string{"0/1+ files", "1/1+ files", "1/2+ files", "1/3+ files", "1/3 files", "3/3 files"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("drawn %q, want %q among it", drawn, want)
		}
	}
	if i := strings.Index(drawn, "1/3 files"); strings.Contains(drawn[i:], "+ files") {
		t.Errorf("a growing total drawn after the walk ended: %q", drawn[i:])
	}
	for _, m := range regexp.MustCompile(`(\d+)%`).FindAllStringSubmatch(drawn, -1) {
		if n, _ := strconv.Atoi(m[1]); n > 100 {
			t.Errorf("drawn %d%%, want at most 100%%", n)
		}
	}
	for _, m := range regexp.MustCompile(`\[[^\]:]*:([^\]]*)\]`).FindAllStringSubmatch(drawn, -1) {
		if strings.HasPrefix(m[1], "-") {
			t.Errorf("drawn ETA %q, want none negative", m[1])
		}
	}
	if st := p.bar.State(); st.CurrentNum != 40<<20 || st.Max != 40<<20 {
		t.Errorf("bar at %d of %d, want the 40 MiB planned, all sent", st.CurrentNum, st.Max)
	}
	if !strings.Contains(drawn, "100%") {
		t.Errorf("drawn %q, want it full at the end", drawn)
	}
}
