// Package rules says whether uploads may go now: not on a metered network
// or on battery when the person says so, only inside the upload windows,
// and not past the bytes allowed a day. The conditions come from
// Sensors (NetworkManager over D-Bus, the power supplies in sysfs), which
// tests replace.
package rules

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
)

// Rule keys, as in the config file.
const (
	RuleMetered   = "rules.metered"
	RuleOnBattery = "rules.on_battery"
	RuleWindows   = "rules.windows"
	RuleDailyCap  = "rules.daily_cap"
)

// Policy is what rules: asks.
type Policy struct {
	PauseMetered   bool     // metered: pause
	PauseOnBattery bool     // on_battery: pause
	Windows        []Window // uploads only inside these; none: any time
	DailyCap       int64    // bytes sent a local day; 0: no cap
	BaseLimit      int64    // storage.bandwidth_limit, bytes per second; 0: none
}

// Active reports whether any rule may hold uploads or change their
// bandwidth.
func (p Policy) Active() bool {
	return p.PauseMetered || p.PauseOnBattery || len(p.Windows) > 0 || p.DailyCap > 0
}

// Conditions are what the rules are checked against, besides the time.
type Conditions struct {
	Metered   bool
	OnBattery bool
	SentToday int64 // bytes sent since the last local midnight
}

// Hold is one rule that holds uploads now.
type Hold struct {
	Rule   string    // RuleMetered, RuleOnBattery, RuleWindows, RuleDailyCap
	Reason string    // e.g. "metered network", "outside the upload windows (next opens Sat 00:00)"
	Until  time.Time // when the rule lets uploads go again, if known (the next window, midnight)
}

// Verdict is what the rules say at one moment.
type Verdict struct {
	Holds  []Hold    // the rules holding uploads, in the order above; none: uploads may go
	Limit  int64     // the bandwidth limit in force, bytes per second; 0: none
	Window string    // the window open now, as written; "" when none is, or none is set
	Closes time.Time // when the windows open now close; zero when none is open, or they never close
}

// Allowed reports whether uploads may go.
func (v Verdict) Allowed() bool { return len(v.Holds) == 0 }

// Holding returns the rule listed first among those holding uploads, and
// whether one does.
func (v Verdict) Holding() (Hold, bool) {
	if len(v.Holds) == 0 {
		return Hold{}, false
	}
	return v.Holds[0], true
}

// Evaluate says what the rules allow at now, in now's location, under c.
func (p Policy) Evaluate(now time.Time, c Conditions) Verdict {
	v := Verdict{Limit: p.BaseLimit}
	if p.PauseMetered && c.Metered {
		v.Holds = append(v.Holds, Hold{Rule: RuleMetered, Reason: "metered network"})
	}
	if p.PauseOnBattery && c.OnBattery {
		v.Holds = append(v.Holds, Hold{Rule: RuleOnBattery, Reason: "on battery"})
	}
	if len(p.Windows) > 0 {
		if w, ok := p.openWindow(now); ok {
			v.Window, v.Closes = w.Text, closing(p.Windows, now)
			switch {
			case w.Unlimited:
				v.Limit = 0
			case w.Limit > 0:
				v.Limit = w.Limit
			}
		} else {
			next := nextStart(p.Windows, now)
			v.Holds = append(v.Holds, Hold{Rule: RuleWindows, Until: next,
				Reason: fmt.Sprintf("outside the upload windows (next opens %s)", Moment(next, now))})
		}
	}
	if p.DailyCap > 0 && c.SentToday >= p.DailyCap {
		v.Holds = append(v.Holds, Hold{Rule: RuleDailyCap, Until: NextMidnight(now),
			Reason: fmt.Sprintf("%s sent today, the daily cap", humanize.IBytes(uint64(c.SentToday)))})
	}
	return v
}

// openWindow returns the first window, in the order written, open at t.
func (p Policy) openWindow(t time.Time) (Window, bool) {
	for _, w := range p.Windows {
		if w.Open(t) {
			return w, true
		}
	}
	return Window{}, false
}

// Day names t's local day, YYYY-MM-DD: the day whose bytes count against
// the daily cap.
func Day(t time.Time) string { return t.Format(time.DateOnly) }

// NextMidnight is the start of the day after t's, in t's location.
func NextMidnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
}

// Moment writes t as seen from now: "06:00" on the same day, "Sat 00:00"
// within a week, the date after that.
func Moment(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case Day(t) == Day(now):
		return t.Format("15:04")
	case t.Sub(now) < 6*24*time.Hour:
		return t.Format("Mon 15:04")
	}
	return t.Format("2006-01-02 15:04")
}
