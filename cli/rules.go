package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/rules"
)

// configureRules sets up the agent's upload rules from cfg. `cloudkeep
// backup` has none: it is asked for, now.
func configureRules(a *agent.Agent, cfg *config.Agent, be *backend) error {
	p := policy(cfg)
	if !p.Active() {
		return nil
	}
	a.RulesPolicy = &p
	a.RulesSensors = rules.System()
	a.MeteredNetwork = cfg.Rules.MeteredNetwork
	if f := os.Getenv(testClockEnv); f != "" {
		a.RulesClock, a.RulesPoll = fileClock(f), 200*time.Millisecond
	}
	return nil
}

// policy is what cfg's rules: asks, with storage.bandwidth_limit as the
// limit outside the windows that set their own.
func policy(cfg *config.Agent) rules.Policy {
	r := cfg.Rules
	p := rules.Policy{PauseMetered: r.Metered == "pause", PauseOnBattery: r.OnBattery == "pause",
		DailyCap: int64(r.DailyCap), BaseLimit: int64(cfg.Storage.BandwidthLimit)}
	for _, w := range r.Windows {
		win, err := rules.ParseWindow(w.Time)
		if err != nil {
			continue // config.Validate refused it
		}
		win.Limit, win.Unlimited = int64(w.BandwidthLimit), w.Unlimited
		p.Windows = append(p.Windows, win)
	}
	return p
}

// testClockEnv names a file holding the local time the upload rules see
// ("2026-11-28T05:59:00"), read again at each look, and makes the agent
// look every 200ms: for tests only, which drive upload windows with it.
const testClockEnv = "CLOUDKEEP_TEST_CLOCK_FILE"

// fileClock returns the time written in file, or the real time when it
// holds none.
func fileClock(file string) func() time.Time {
	return func() time.Time {
		b, err := os.ReadFile(file)
		if err != nil {
			return time.Now()
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(string(b)), time.Local)
		if err != nil {
			return time.Now()
		}
		return t
	}
}

// printRules writes what the status says of rules, if anything: which
// rule holds the uploads, or the window open; the bytes sent today
// against the daily cap.
func printRules(w io.Writer, s agent.Status, now time.Time) {
	r := s.Rules
	if r == nil {
		return
	}
	if r.Holding != "" {
		fmt.Fprintf(w, "uploads held: %s — %s\n", r.Holding, ruleSaid(r.Rule))
		if len(r.HeldBy) > 1 {
			fmt.Fprintf(w, "  also held by: %s\n", strings.Join(r.HeldBy[1:], ", "))
		}
	} else if r.Window != "" {
		closes := "open"
		if !r.WindowCloses.IsZero() {
			closes = "open until " + rules.Moment(r.WindowCloses, now)
		}
		fmt.Fprintf(w, "upload window %s %s", r.Window, closes)
		if r.BandwidthLimit > 0 {
			fmt.Fprintf(w, ", at most %s/s", humanize.IBytes(uint64(r.BandwidthLimit)))
		}
		fmt.Fprintln(w)
	}
	if r.DailyCapBytes > 0 {
		fmt.Fprintf(w, "sent today: %s of the %s daily cap\n", humanize.IBytes(uint64(r.SentTodayBytes)), humanize.IBytes(uint64(r.DailyCapBytes)))
	}
}

// ruleSaid names rule as the config says it.
func ruleSaid(rule string) string {
	switch rule {
	case rules.RuleMetered, rules.RuleOnBattery:
		return rule + ": pause"
	case rules.RuleDailyCap:
		return rule + " (resumes at midnight)"
	}
	return rule
}
