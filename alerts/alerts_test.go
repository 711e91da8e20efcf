package alerts_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/alerts"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
	"github.com/cloudkeep/cloudkeep/journal"
)

// recorder is a Sender that keeps what it is sent, and fails while fail
// is above zero.
type recorder struct {
	mu   sync.Mutex
	got  []alerts.Alert
	fail int
	sent chan struct{}
}

func newRecorder() *recorder { return &recorder{sent: make(chan struct{}, 100)} }

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Send(_ context.Context, a alerts.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("receiver down")
	}
	r.got = append(r.got, a)
	r.sent <- struct{}{}
	return nil
}

func (r *recorder) alerts() []alerts.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerts.Alert(nil), r.got...)
}

// wait waits for n alerts in all.
func (r *recorder) wait(t *testing.T, n int) []alerts.Alert {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.alerts()) < n {
		select {
		case <-r.sent:
		case <-deadline:
			t.Fatalf("got %d alerts, want %d: %+v", len(r.alerts()), n, r.alerts())
		}
	}
	return r.alerts()
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// newNotifier returns a loaded Notifier on store, delivering to r until
// the test ends.
func newNotifier(t *testing.T, store alerts.Store, r *recorder, c *clock, log zerolog.Logger) *alerts.Notifier {
	t.Helper()
	n := &alerts.Notifier{Senders: []alerts.Sender{r}, Store: store, Device: "laptop", Now: c.now, Log: log,
		Warmup: time.Minute, Hold: time.Minute, RetryBase: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond}
	if err := n.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func down(since time.Time) alerts.Cause {
	return alerts.Cause{Name: "storage_unreachable", Subject: "storage unreachable", Detail: "connection refused", Since: since, Due: since.Add(time.Hour)}
}

// A cause is told once when due, not again while it persists, resolved
// once when it is gone — and a restart in between neither repeats the
// opening nor forgets the resolution.
func TestNotifier_OpenOnceResolveOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	start := time.Date(2026, 3, 1, 13, 2, 0, 0, time.UTC)
	c := &clock{t: start}
	r := newRecorder()
	j := openJournal(t, path)
	n := newNotifier(t, j, r, c, zerolog.Nop())

	n.Observe(ctx, []alerts.Cause{down(start)})
	c.t = start.Add(59 * time.Minute)
	n.Observe(ctx, []alerts.Cause{down(start)})
	if got := n.Open(); len(got) != 0 {
		t.Fatalf("open before alert_after: %+v", got)
	}
	for i := range 5 { // due, then persisting
		c.t = start.Add(time.Hour + time.Duration(i)*time.Minute)
		n.Observe(ctx, []alerts.Cause{down(start)})
	}
	got := r.wait(t, 1)
	if a := got[0]; a.State != alerts.StateOpen || a.Cause != "storage_unreachable" || a.Device != "laptop" || !a.Since.Equal(start) || !a.Time.Equal(start.Add(time.Hour)) {
		t.Errorf("got %+v, want storage_unreachable open on laptop since %s", a, start)
	}
	if open, _ := j.OpenAlerts(ctx); len(open) != 1 || open[0].Subject != "storage unreachable" || !open[0].Since.Equal(start) {
		t.Errorf("journal holds %+v, want the alert open", open)
	}

	// A restart while the cause persists: not told again.
	r2 := newRecorder()
	n2 := newNotifier(t, openJournal(t, path), r2, c, zerolog.Nop())
	c.t = c.t.Add(time.Second)
	n2.Observe(ctx, nil) // within the warm-up the agent does not know yet: kept
	c.t = c.t.Add(10 * time.Second)
	n2.Observe(ctx, []alerts.Cause{down(c.t)}) // seen again, with a new start
	if open := n2.Open(); len(open) != 1 || !open[0].Since.Equal(start) {
		t.Errorf("open after restart: %+v, want the one since %s", open, start)
	}
	c.t = c.t.Add(2 * time.Hour)
	n2.Observe(ctx, []alerts.Cause{down(c.t.Add(-2 * time.Hour))})
	time.Sleep(50 * time.Millisecond)
	if got := r2.alerts(); len(got) != 0 {
		t.Fatalf("told again after restart: %+v", got)
	}

	n2.Observe(ctx, nil) // gone
	c.t = c.t.Add(time.Minute)
	n2.Observe(ctx, nil)
	got = r2.wait(t, 1)
	if a := got[0]; a.State != alerts.StateResolved || a.Cause != "storage_unreachable" || a.Subject != "storage unreachable" || !a.Time.Equal(c.t) || !a.Since.Equal(start) {
		t.Errorf("got %+v, want storage_unreachable resolved", a)
	}
	time.Sleep(50 * time.Millisecond)
	if got := r2.alerts(); len(got) != 1 {
		t.Errorf("got %d alerts, want one resolved: %+v", len(got), got)
	}
	if open, _ := j.OpenAlerts(ctx); len(open) != 0 {
		t.Errorf("journal holds %+v after resolution, want none", open)
	}
}

// An alert open at start whose cause is gone is resolved after the
// warm-up, not before.
func TestNotifier_ResolvesLoadedAfterWarmup(t *testing.T) {
	ctx := context.Background()
	j := openJournal(t, filepath.Join(t.TempDir(), "journal.db"))
	since := time.Date(2026, 3, 1, 13, 2, 0, 0, time.UTC)
	if err := j.PutAlert(ctx, journal.Alert{Cause: "signed_out", Subject: "signed out", Since: since, Told: since}); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: since.Add(5 * time.Hour)}
	r := newRecorder()
	n := newNotifier(t, j, r, c, zerolog.Nop())
	c.t = c.t.Add(30 * time.Second)
	n.Observe(ctx, nil)
	if len(n.Open()) != 1 {
		t.Fatalf("resolved within the warm-up")
	}
	c.t = c.t.Add(time.Minute)
	n.Observe(ctx, nil)
	if a := r.wait(t, 1)[0]; a.State != alerts.StateResolved || a.Cause != "signed_out" {
		t.Errorf("got %+v, want signed_out resolved", a)
	}
}

// A sender that fails is tried again until it takes the alert; the
// failure is logged once, not once per try.
func TestNotifier_RetriesAndLogsOnce(t *testing.T) {
	ctx := context.Background()
	var log testbin.Buffer
	c := &clock{t: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)}
	r := newRecorder()
	r.fail = 5
	n := newNotifier(t, nil, r, c, zerolog.New(&log))
	n.Observe(ctx, []alerts.Cause{{Name: "quota", Subject: "storage quota reached", Since: c.t, Due: c.t}})
	if a := r.wait(t, 1)[0]; a.State != alerts.StateOpen || a.Cause != "quota" {
		t.Errorf("got %+v, want quota open", a)
	}
	if got := countLines(log.String(), "alert not sent"); got != 1 {
		t.Errorf("%d log lines say the alert was not sent, want 1:\n%s", got, log.String())
	}
	for deadline := time.Now().Add(5 * time.Second); countLines(log.String(), "alert sent after failures") == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // logged once Send returns
	}
	if got := countLines(log.String(), "alert sent after failures"); got != 1 {
		t.Errorf("%d log lines say the alert went after failures, want 1:\n%s", got, log.String())
	}
}

func countLines(s, sub string) int { return strings.Count(s, sub) }

// An opening no sender took before a stop is sent after the restart; a
// resolution of an opening never sent is not sent alone.
func TestNotifier_UndeliveredOpenSentAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	start := time.Date(2026, 3, 1, 13, 2, 0, 0, time.UTC)
	c := &clock{t: start.Add(time.Hour)}
	r := newRecorder()
	r.fail = 1 << 30
	n := &alerts.Notifier{Senders: []alerts.Sender{r}, Store: openJournal(t, path), Device: "laptop", Now: c.now, Log: zerolog.Nop(),
		Warmup: time.Minute, Hold: time.Minute, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond}
	if err := n.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Run(runCtx); close(done) }()
	n.Observe(ctx, []alerts.Cause{down(start)})
	time.Sleep(50 * time.Millisecond) // a few failed tries
	cancel()
	<-done

	r2 := newRecorder()
	newNotifier(t, openJournal(t, path), r2, c, zerolog.Nop())
	if a := r2.wait(t, 1)[0]; a.State != alerts.StateOpen || a.Cause != "storage_unreachable" || a.Detail != "connection refused" || !a.Time.Equal(start.Add(time.Hour)) {
		t.Errorf("got %+v, want the opening sent after the restart", a)
	}
	// Delivered now: a third start sends nothing.
	r3 := newRecorder()
	newNotifier(t, openJournal(t, path), r3, c, zerolog.Nop())
	time.Sleep(50 * time.Millisecond)
	if got := r3.alerts(); len(got) != 0 {
		t.Errorf("sent again at the third start: %+v", got)
	}

	// A second cause, never delivered, then gone: nothing is sent.
	r4 := newRecorder()
	r4.fail = 1 << 30
	n4 := newNotifier(t, openJournal(t, filepath.Join(t.TempDir(), "j.db")), r4, c, zerolog.Nop())
	n4.Observe(ctx, []alerts.Cause{down(start)})
	c.t = c.t.Add(2 * time.Minute)
	n4.Observe(ctx, nil)
	c.t = c.t.Add(2 * time.Minute)
	n4.Observe(ctx, nil)
	r4.mu.Lock()
	r4.fail = 0
	r4.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if got := r4.alerts(); len(got) != 0 {
		t.Errorf("sent %+v for an alert whose opening never went, want nothing", got)
	}
}

// A cause gone for less than Hold and back continues the same alert: no
// resolution, no second opening.
func TestNotifier_FlappingIsOneAlert(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	r := newRecorder()
	n := newNotifier(t, nil, r, c, zerolog.Nop())
	cause := func(since time.Time) alerts.Cause {
		return alerts.Cause{Name: "storage_unreachable", Subject: "storage unreachable", Since: since, Due: since.Add(5 * time.Second)}
	}
	for i := range 4 { // 7 s down, 7 s up
		t0 := start.Add(time.Duration(i) * 14 * time.Second)
		for s := 0; s <= 7; s++ {
			c.t = t0.Add(time.Duration(s) * time.Second)
			n.Observe(ctx, []alerts.Cause{cause(t0)})
		}
		for s := 8; s < 14; s++ {
			c.t = t0.Add(time.Duration(s) * time.Second)
			n.Observe(ctx, nil)
		}
	}
	r.wait(t, 1)
	c.t = c.t.Add(time.Minute)
	n.Observe(ctx, nil)
	r.wait(t, 2)
	time.Sleep(50 * time.Millisecond)
	if got := r.alerts(); len(got) != 2 || got[0].State != alerts.StateOpen || got[1].State != alerts.StateResolved {
		t.Errorf("got %+v, want one opening and one resolution", got)
	}
}
