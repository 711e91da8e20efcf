package agent

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/dbustest"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/rules"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// testClock is a clock a test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// rulesAgent is an agent with only what the rules need: a queue and a
// journal.
func rulesAgent(t *testing.T, j *journal.Journal, p rules.Policy, clock *testClock) *Agent {
	t.Helper()
	w, err := rules.ParseWindow("22:00-06:00")
	if err != nil {
		t.Fatal(err)
	}
	if p.Windows == nil {
		p.Windows = []rules.Window{w}
	}
	a := &Agent{Journal: j, Log: zerolog.Nop(), queue: newQueue(100, 2)}
	a.RulesPolicy, a.RulesClock = &p, clock.now
	a.initRules()
	return a
}

// handsOut reports whether the queue hands out a job within a moment.
func handsOut(q *queue) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	j, ok := q.next(ctx)
	if ok {
		q.done(j)
		q.push(j)
	}
	return ok
}

func TestRules_WindowHoldsQueue(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 21, 59, 0, 0, time.Local)} // Monday
	a := rulesAgent(t, openJournal(t), rules.Policy{}, clock)
	a.queue.push(jobOf(1, 5))
	if handsOut(a.queue) {
		t.Fatal("a file was handed out at 21:59, outside the window 22:00-06:00")
	}
	var s Status
	a.fillRules(&s)
	if r := s.Rules; r == nil || r.Rule != rules.RuleWindows || r.Holding != "outside the upload windows (next opens 22:00)" {
		t.Fatalf("status: got %+v, want held by rules.windows until 22:00", s.Rules)
	}
	clock.set(clock.now().Add(time.Minute))
	a.refreshRules()
	if !handsOut(a.queue) {
		t.Fatal("no file handed out at 22:00, inside the window")
	}
	clock.set(time.Date(2026, 11, 24, 5, 59, 59, 0, time.Local)) // after midnight, still inside
	a.refreshRules()
	if !handsOut(a.queue) {
		t.Fatal("no file handed out at 05:59:59, inside the window across midnight")
	}
	clock.set(time.Date(2026, 11, 24, 6, 0, 0, 0, time.Local))
	a.refreshRules()
	if handsOut(a.queue) {
		t.Fatal("a file was handed out at 06:00, after the window closed")
	}
}

// The daily cap counts the bytes the storage acknowledged, journaled by
// local day: a restart keeps the count, local midnight starts a new one.
func TestRules_DailyCap(t *testing.T) {
	j := openJournal(t)
	clock := &testClock{t: time.Date(2026, 11, 23, 23, 0, 0, 0, time.Local)}
	p := rules.Policy{DailyCap: 100}
	a := rulesAgent(t, j, p, clock)
	a.queue.push(jobOf(1, 5))
	a.countSent(60)
	if !handsOut(a.queue) {
		t.Fatal("held with 60 of 100 bytes sent")
	}
	a.countSent(50) // a part overshoots the cap: it was sent whole
	if handsOut(a.queue) {
		t.Fatal("a file was handed out with 110 of 100 bytes sent today")
	}
	var s Status
	a.fillRules(&s)
	if r := s.Rules; r.Rule != rules.RuleDailyCap || r.Holding != "110 B sent today, the daily cap" || r.SentTodayBytes != 110 ||
		!r.NextOpen.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.Local)) {
		t.Fatalf("status: got %+v", r)
	}
	a.saveSent(context.Background())
	if n, err := j.SentOn(context.Background(), "2026-11-23"); err != nil || n != 110 {
		t.Fatalf("journaled: got %d, %v; want 110", n, err)
	}

	restarted := rulesAgent(t, j, p, clock)
	restarted.queue.push(jobOf(1, 5))
	if handsOut(restarted.queue) {
		t.Fatal("after a restart the cap reached today was forgotten")
	}

	clock.set(time.Date(2026, 11, 24, 0, 0, 1, 0, time.Local))
	restarted.refreshRules()
	if !handsOut(restarted.queue) {
		t.Fatal("still held after local midnight")
	}
	restarted.countSent(10)
	restarted.saveSent(context.Background())
	if n, _ := j.SentOn(context.Background(), "2026-11-24"); n != 10 {
		t.Errorf("the new day's count: got %d, want 10", n)
	}
}

// The gate between parts waits while a rule holds uploads, lets the part
// go when it allows them again, and says ErrHeld when the agent stops.
func TestRules_AllowPart(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local)}
	a := rulesAgent(t, openJournal(t), rules.Policy{}, clock)
	got := make(chan error, 1)
	go func() { got <- a.allowPart(context.Background()) }()
	select {
	case err := <-got:
		t.Fatalf("a part went at noon, outside the window: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	clock.set(time.Date(2026, 11, 23, 22, 0, 0, 0, time.Local))
	a.refreshRules() // what rulesLoop does every RulesPoll
	if err := <-got; err != nil {
		t.Fatalf("gate at 22:00: %v", err)
	}

	clock.set(time.Date(2026, 11, 24, 12, 0, 0, 0, time.Local))
	a.refreshRules()
	go func() { got <- a.allowPart(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	go a.rulesLoop(ctx) // the agent stops
	if err := <-got; !errors.Is(err, uploader.ErrHeld) {
		t.Fatalf("gate at a stop while held: got %v, want ErrHeld", err)
	}
}

// meteredAgent is an agent whose rules ask the NetworkManager at addr,
// every poll, with metered: pause.
func meteredAgent(t *testing.T, addr string, log *bytes.Buffer) *Agent {
	t.Helper()
	nm := &rules.NetworkManager{Address: addr}
	t.Cleanup(func() { nm.Close() })
	a := &Agent{Log: zerolog.New(log), queue: newQueue(100, 2)}
	a.RulesPolicy = &rules.Policy{PauseMetered: true}
	a.RulesSensors = rules.Sensors{Metered: nm.Metered}
	a.RulesPoll = 300 * time.Millisecond
	a.initRules()
	return a
}

// poll reads the conditions once, as rulesLoop does.
func (a *Agent) pollRules() {
	ctx, cancel := context.WithTimeout(context.Background(), a.RulesPoll)
	defer cancel()
	a.readConditions(ctx)
	a.refreshRules()
}

// A metered network stays metered when NetworkManager answers too slowly
// or leaves the bus: uploads stay held, not let go as if
// rules.metered_network (false) said so; said once, with why.
func TestRules_MeteredKeptWhenNetworkManagerDoesNotAnswer(t *testing.T) {
	addr, nm, conn := dbustest.StartNetworkManager(t, 1) // metered: yes
	var log bytes.Buffer
	a := meteredAgent(t, addr, &log)
	a.queue.push(jobOf(1, 5))
	if handsOut(a.queue) {
		t.Fatal("a file was handed out on a metered network")
	}
	nm.Set(1, time.Second) // slower than the poll
	for range 3 {
		a.pollRules()
		if handsOut(a.queue) {
			t.Fatalf("a file was handed out when NetworkManager answered late; log:\n%s", log.String())
		}
	}
	if n := strings.Count(log.String(), "NetworkManager does not answer"); n != 1 {
		t.Errorf("told %d times that NetworkManager does not answer, want once; log:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), `"error":"no answer within 300ms"`) {
		t.Errorf("the log does not say why:\n%s", log.String())
	}
	nm.Set(2, 0) // not metered, at once
	a.pollRules()
	if !handsOut(a.queue) {
		t.Fatalf("still held once NetworkManager says the network is not metered; log:\n%s", log.String())
	}
	nm.Set(1, 0)
	a.pollRules()
	if _, err := conn.ReleaseName(dbustest.NetworkManagerName); err != nil {
		t.Fatal(err)
	}
	a.pollRules()
	if handsOut(a.queue) {
		t.Fatalf("a file was handed out once NetworkManager left the bus, after it said metered; log:\n%s", log.String())
	}
	var s Status
	a.fillRules(&s)
	if s.Rules == nil || s.Rules.Rule != rules.RuleMetered || !s.Rules.Metered {
		t.Errorf("status: got %+v, want held by rules.metered", s.Rules)
	}
}

// A NetworkManager never there since the start leaves it to
// rules.metered_network.
func TestRules_MeteredNetworkWithoutNetworkManager(t *testing.T) {
	for _, metered := range []bool{false, true} {
		var log bytes.Buffer
		nm := &rules.NetworkManager{Address: "unix:path=" + t.TempDir() + "/no-bus"}
		a := &Agent{Log: zerolog.New(&log), queue: newQueue(100, 2)}
		a.MeteredNetwork = metered
		a.RulesPolicy = &rules.Policy{PauseMetered: true}
		a.RulesSensors = rules.Sensors{Metered: nm.Metered}
		a.RulesPoll = 300 * time.Millisecond
		a.initRules()
		a.pollRules()
		a.queue.push(jobOf(1, 5))
		if handsOut(a.queue) == metered {
			t.Errorf("metered_network: %v: handed out %v", metered, !metered)
		}
		if n := strings.Count(log.String(), "rules.metered_network says"); n != 1 {
			t.Errorf("told %d times that rules.metered_network says, want once; log:\n%s", n, log.String())
		}
	}
}
