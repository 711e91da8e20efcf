package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudkeep/cloudkeep/rules"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// UploadRules hold uploads while a rule of rules: does not allow them: the
// queue hands out no file, and a big file's upload in flight stops after
// its current part (uploader.Gate) and goes on from there once the rules
// allow it again.
type UploadRules struct {
	// RulesPolicy is what rules: asks; nil, or no rule set: no rules.
	RulesPolicy *rules.Policy
	// RulesSensors tell whether the network is metered and the machine
	// on battery; a nil func tells nothing.
	RulesSensors rules.Sensors
	// MeteredNetwork is rules.metered_network: whether the network counts
	// as metered when RulesSensors cannot tell.
	MeteredNetwork bool
	// RulesClock is the time the rules see; nil: time.Now.
	RulesClock func() time.Time
	// RulesPoll is how often the conditions are read; default 2s.
	RulesPoll time.Duration

	rules *ruleState
}

// RulesStatus is what the rules say now, in the status.
type RulesStatus struct {
	// Holding is why uploads are held, e.g. "metered network" or "outside
	// the upload windows (next opens Sat 00:00)"; "" while they may go.
	Holding string `json:"holding,omitempty"`
	// Rule is the key of the rule that holds them, e.g. "rules.windows".
	Rule string `json:"rule,omitempty"`
	// HeldBy lists every rule holding uploads, Rule first.
	HeldBy []string `json:"held_by,omitempty"`
	// NextOpen is when Rule lets uploads go again, if known: the next
	// window, the next midnight for the daily cap.
	NextOpen time.Time `json:"next_open,omitzero"`
	// Window is the upload window open now, as written, and Closes when
	// the windows open now close.
	Window         string    `json:"window,omitempty"`
	WindowCloses   time.Time `json:"window_closes,omitzero"`
	Metered        bool      `json:"metered"`
	OnBattery      bool      `json:"on_battery"`
	SentTodayBytes int64     `json:"sent_today_bytes"`
	DailyCapBytes  int64     `json:"daily_cap_bytes,omitempty"`
	// BandwidthLimit is the limit in force, in bytes per second; 0: none.
	BandwidthLimit int64 `json:"bandwidth_limit_bytes_per_second,omitempty"`
}

// defaultRulesPoll is how often the conditions are read by default: a
// D-Bus property and a few sysfs files, cheap.
const defaultRulesPoll = 2 * time.Second

// ruleState is what the rules know and said last.
type ruleState struct {
	policy rules.Policy

	mu      sync.Mutex
	cond    rules.Conditions // Metered and OnBattery as last read
	day     string           // the local day sent counts for
	sent    int64            // bytes sent on day, journaled or not
	unsaved map[string]int64 // bytes sent by day, not journaled yet
	verdict rules.Verdict
	limit   int64         // the bandwidth limit set on the uploader
	changed chan struct{} // closed, and replaced, when the verdict is made again
	logged  string        // the rule last said to hold uploads; "" when they may go
	told    map[string]bool

	nmAnswered bool // NetworkManager said whether the network is metered, once at least
	nmLost     bool // it has not answered since: said once

	stopped chan struct{} // closed when the agent stops
	stop    sync.Once
}

func (a *Agent) initRules() {
	if a.RulesPolicy == nil || !a.RulesPolicy.Active() {
		return
	}
	if a.RulesPoll <= 0 {
		a.RulesPoll = defaultRulesPoll
	}
	if a.RulesClock == nil {
		a.RulesClock = time.Now
	}
	r := &ruleState{policy: *a.RulesPolicy, unsaved: map[string]int64{}, changed: make(chan struct{}),
		stopped: make(chan struct{}), told: map[string]bool{}, limit: -1}
	a.rules = r
	r.day = rules.Day(a.RulesClock())
	if a.Journal != nil {
		if n, err := a.Journal.SentOn(context.Background(), r.day); err == nil {
			r.sent = n
		} else {
			a.Log.Warn().Err(err).Msg("rules.daily_cap counts from 0 today")
		}
	}
	if a.Uploader != nil {
		a.Uploader.Gate(a.allowPart, a.countSent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.RulesPoll)
	defer cancel()
	a.readConditions(ctx) // no upload starts before the rules are known
	a.refreshRules()
}

// rulesLoop reads the conditions every RulesPoll, journals the bytes sent
// and holds or lets go the uploads, until ctx ends.
func (a *Agent) rulesLoop(ctx context.Context) {
	r := a.rules
	if r == nil {
		return
	}
	t := time.NewTicker(a.RulesPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.stop.Do(func() { close(r.stopped) })
			a.saveSent(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, a.RulesPoll)
		a.readConditions(pctx)
		cancel()
		a.saveSent(ctx)
		a.refreshRules()
	}
}

// readConditions asks the sensors whether the network is metered and the
// machine on battery, for the rules that care. What cannot be told is
// said once: the network is then metered as rules.metered_network says
// (see meteredFrom), and the machine on mains.
func (a *Agent) readConditions(ctx context.Context) {
	r := a.rules
	metered, battery := a.MeteredNetwork, false
	if s := a.RulesSensors.Metered; r.policy.PauseMetered && s != nil {
		m, err := s(ctx)
		metered = a.meteredFrom(ctx, m, err)
	}
	if s := a.RulesSensors.OnBattery; r.policy.PauseOnBattery && s != nil {
		b, err := s()
		if err == nil {
			battery = b
		} else {
			a.tellOnce("battery", func() {
				a.Log.Info().Str("error", err.Error()).Msg("cannot tell whether the machine is on battery: rules.on_battery does not hold uploads")
			})
		}
	} else if r.policy.PauseOnBattery && s == nil {
		a.tellOnce("battery", func() {
			a.Log.Info().Msg("this system does not tell Go whether it is on battery: rules.on_battery does not hold uploads")
		})
	}
	r.mu.Lock()
	r.cond.Metered, r.cond.OnBattery = metered, battery
	r.mu.Unlock()
}

// meteredFrom is whether the network counts as metered after
// NetworkManager answered m, err (ctx bounded the question). Once it has
// answered, no answer (too slow, or gone from the bus) keeps its last
// one: a network it called metered stays metered until it says
// otherwise, said once with why. Only a NetworkManager that never
// answered leaves it to rules.metered_network.
func (a *Agent) meteredFrom(ctx context.Context, m bool, err error) bool {
	r := a.rules
	r.mu.Lock()
	answered, lost, last := r.nmAnswered, r.nmLost, r.cond.Metered
	if err == nil {
		r.nmAnswered, r.nmLost = true, false
	}
	r.mu.Unlock()
	if err == nil {
		if lost {
			a.Log.Info().Bool("metered", m).Msg("NetworkManager answers again whether the network is metered")
		}
		return m
	}
	why := err.Error()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = fmt.Sprintf("no answer within %s", a.RulesPoll)
	}
	if !answered {
		a.tellOnce("metered", func() {
			a.Log.Info().Str("error", why).Bool("metered_network", a.MeteredNetwork).
				Msg("cannot ask NetworkManager whether the network is metered: rules.metered_network says")
		})
		return a.MeteredNetwork
	}
	if !lost && !errors.Is(ctx.Err(), context.Canceled) {
		r.mu.Lock()
		r.nmLost = true
		r.mu.Unlock()
		a.Log.Warn().Str("error", why).Bool("metered", last).
			Msg("NetworkManager does not answer whether the network is metered: keeping its last answer until it does")
	}
	return last
}

// tellOnce runs say the first time what is said.
func (a *Agent) tellOnce(what string, say func()) {
	r := a.rules
	r.mu.Lock()
	done := r.told[what]
	r.told[what] = true
	r.mu.Unlock()
	if !done {
		say()
	}
}

// refreshRules makes the verdict again and acts on it: holds the queue or
// lets it go, sets the bandwidth limit, wakes the parts waiting for it.
func (a *Agent) refreshRules() rules.Verdict {
	r := a.rules
	r.mu.Lock()
	defer r.mu.Unlock()
	v := a.evaluateRules()
	r.verdict = v
	hold, held := v.Holding()
	a.queue.setRuled(held)
	switch {
	case held && hold.Rule != r.logged:
		a.Log.Info().Str("rule", hold.Rule).Msg("uploads held: " + hold.Reason)
	case !held && r.logged != "":
		a.Log.Info().Msg("uploads allowed by the rules again")
	}
	r.logged = hold.Rule
	if v.Limit != r.limit && a.Uploader != nil {
		a.Uploader.SetBandwidthLimit(v.Limit)
		if r.limit >= 0 {
			a.Log.Info().Int64("bandwidth_limit_bytes_per_second", v.Limit).Str("window", v.Window).Msg("bandwidth limit changed")
		}
	}
	r.limit = v.Limit
	close(r.changed)
	r.changed = make(chan struct{})
	return v
}

// evaluateRules is what the rules say now; r.mu is held.
func (a *Agent) evaluateRules() rules.Verdict {
	r := a.rules
	a.rollDay()
	return r.policy.Evaluate(a.RulesClock(), r.withSent())
}

// withSent is the conditions with the bytes sent today; r.mu is held.
func (r *ruleState) withSent() rules.Conditions {
	c := r.cond
	c.SentToday = r.sent
	return c
}

// rollDay starts counting a new day once the clock passed midnight;
// r.mu is held.
func (a *Agent) rollDay() {
	r := a.rules
	day := rules.Day(a.RulesClock())
	if day == r.day {
		return
	}
	r.day, r.sent = day, r.unsaved[day]
	if a.Journal != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n, err := a.Journal.SentOn(ctx, day); err == nil {
			r.sent += n
		}
	}
}

// allowPart is the uploader's gate: it returns once the rules let a part
// go, ctx's error when ctx ends, uploader.ErrHeld when the agent stops
// while they do not. It waits for the verdicts refreshRules makes.
func (a *Agent) allowPart(ctx context.Context) error {
	r := a.rules
	for {
		r.mu.Lock()
		now, was, changed := a.evaluateRules().Allowed(), r.verdict.Allowed(), r.changed
		r.mu.Unlock()
		if now != was {
			a.refreshRules() // the clock or the count moved on since the last verdict
			continue
		}
		if now {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.stopped:
			return uploader.ErrHeld
		case <-changed:
		}
	}
}

// countSent counts n bytes the storage acknowledged against today's cap;
// crossing it holds the uploads at once. Once the agent stops, the count
// is journaled at once: the loop that journals it has ended.
func (a *Agent) countSent(n int64) {
	r := a.rules
	r.mu.Lock()
	a.rollDay()
	before := r.sent
	r.sent += n
	r.unsaved[r.day] += n
	crossed := r.policy.DailyCap > 0 && before < r.policy.DailyCap && r.sent >= r.policy.DailyCap
	r.mu.Unlock()
	select {
	case <-r.stopped:
		a.saveSent(context.Background())
	default:
	}
	if crossed {
		a.refreshRules()
	}
}

// saveSent journals the bytes sent not journaled yet.
func (a *Agent) saveSent(ctx context.Context) {
	r := a.rules
	r.mu.Lock()
	unsaved := r.unsaved
	r.unsaved = map[string]int64{}
	r.mu.Unlock()
	if a.Journal == nil {
		return
	}
	for day, n := range unsaved {
		if n == 0 {
			continue
		}
		if err := a.Journal.AddSent(ctx, day, n); err != nil {
			if !errors.Is(err, context.Canceled) {
				a.Log.Warn().Err(err).Msg("bytes sent not journaled: rules.daily_cap may allow more today")
			}
			r.mu.Lock()
			r.unsaved[day] += n
			r.mu.Unlock()
		}
	}
}

func (a *Agent) fillRules(s *Status) {
	r := a.rules
	if r == nil {
		return
	}
	r.mu.Lock()
	v, c := r.verdict, r.withSent()
	r.mu.Unlock()
	rs := &RulesStatus{Window: v.Window, WindowCloses: v.Closes, Metered: c.Metered, OnBattery: c.OnBattery,
		SentTodayBytes: c.SentToday, DailyCapBytes: r.policy.DailyCap, BandwidthLimit: v.Limit}
	if h, ok := v.Holding(); ok {
		rs.Holding, rs.Rule, rs.NextOpen = h.Reason, h.Rule, h.Until
	}
	for _, h := range v.Holds {
		rs.HeldBy = append(rs.HeldBy, h.Rule)
	}
	for i := range s.Uploads { // they wait between parts
		s.Uploads[i].Held = rs.Rule
	}
	s.Rules = rs
}

var (
	descRulesHolding = prometheus.NewDesc("cloudkeep_rules_holding", "1 while the rule holds uploads, by rule (metered, on_battery, windows, daily_cap).", []string{"rule"}, nil)
	descSentToday    = prometheus.NewDesc("cloudkeep_sent_today_bytes", "Bytes sent since local midnight, counted against rules.daily_cap.", nil, nil)
)

// rulesCollector turns what the rules say into gauges at each scrape.
type rulesCollector struct{ a *Agent }

func (c rulesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRulesHolding
	ch <- descSentToday
}

func (c rulesCollector) Collect(ch chan<- prometheus.Metric) {
	var s Status
	c.a.fillRules(&s)
	if s.Rules == nil {
		return
	}
	p := c.a.rules.policy
	for _, rule := range []struct {
		key string
		on  bool
	}{{rules.RuleMetered, p.PauseMetered}, {rules.RuleOnBattery, p.PauseOnBattery},
		{rules.RuleWindows, len(p.Windows) > 0}, {rules.RuleDailyCap, p.DailyCap > 0}} {
		if !rule.on {
			continue
		}
		v := 0.0
		for _, h := range s.Rules.HeldBy {
			if h == rule.key {
				v = 1
			}
		}
		ch <- prometheus.MustNewConstMetric(descRulesHolding, prometheus.GaugeValue, v, rule.key[len("rules."):])
	}
	ch <- prometheus.MustNewConstMetric(descSentToday, prometheus.GaugeValue, float64(s.Rules.SentTodayBytes))
}

func (a *Agent) rulesMetrics(reg *prometheus.Registry) {
	if a.rules != nil {
		reg.MustRegister(rulesCollector{a})
	}
}
