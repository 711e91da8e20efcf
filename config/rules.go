package config

import (
	"fmt"
	"strings"

	"github.com/cloudkeep/cloudkeep/rules"
)

// Rules say when uploads may go: on a metered network or on battery or not,
// in which time windows, and how much a day.
type Rules struct {
	Metered string `yaml:"metered"` // pause | allow; default allow
	// MeteredNetwork says the network is metered where NetworkManager
	// cannot tell (other systems, Linux without it).
	MeteredNetwork bool     `yaml:"metered_network"`
	OnBattery      string   `yaml:"on_battery"` // pause | allow; default allow
	Windows        []Window `yaml:"windows"`    // uploads only inside these (local time); none: any time
	DailyCap       Size     `yaml:"daily_cap"`  // bytes sent a local day; 0: no cap
}

// Window is an upload window: "01:00-06:00", or {time: "01:00-06:00",
// bandwidth_limit: 2MiB/s} with a bandwidth of its own.
type Window struct {
	Time           string `yaml:"time"`
	BandwidthLimit Rate   `yaml:"bandwidth_limit"` // while the window is open; unset: storage.bandwidth_limit
	// Unlimited is bandwidth_limit: 0 written in the window: no limit
	// while it is open, as 0 means none for storage.bandwidth_limit.
	Unlimited bool `yaml:"-"`
}

// fromScalar takes a window written as its time alone.
func (w *Window) fromScalar(s string) { w.Time = s }

// validateRules checks rules:.
func (c *Agent) validateRules(v *validator) {
	r := c.Rules
	v.oneOf("rules.metered", r.Metered, "pause", "allow")
	v.oneOf("rules.on_battery", r.OnBattery, "pause", "allow")
	for i, w := range r.Windows {
		key := fmt.Sprintf("rules.windows[%d]", i)
		if strings.TrimSpace(w.Time) == "" {
			v.add(key, `required: a time such as "01:00-06:00" or "Sat 00:00-Sun 23:59"`)
			continue
		}
		if _, err := rules.ParseWindow(w.Time); err != nil {
			v.add(key, "%q: %s", w.Time, err)
		}
	}
	switch {
	case r.DailyCap < 0:
		v.add("rules.daily_cap", "must not be negative")
	case r.DailyCap > 0 && r.DailyCap < 1<<20:
		// "daily_cap: 5" is read as 5 bytes: surely 5 GiB was meant.
		v.add("rules.daily_cap", "%d B: too small to be meant; write a unit, e.g. %dGiB (at least 1MiB, or 0 for no cap)", int64(r.DailyCap), int64(r.DailyCap))
	}
}

// rulesDefaults fills what rules: leaves out.
func (c *Agent) rulesDefaults() {
	setIfZero(&c.Rules.Metered, "allow")
	setIfZero(&c.Rules.OnBattery, "allow")
	for i := range c.Rules.Windows {
		c.Rules.Windows[i].Unlimited = c.source.zero[fmt.Sprintf("rules.windows[%d].bandwidth_limit", i)]
	}
}
