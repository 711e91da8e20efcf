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
	BandwidthLimit Rate   `yaml:"bandwidth_limit"` // while the window is open; 0: storage.bandwidth_limit
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
	if r.DailyCap < 0 {
		v.add("rules.daily_cap", "must not be negative")
	}
}

// rulesDefaults fills what rules: leaves out.
func (c *Agent) rulesDefaults() {
	setIfZero(&c.Rules.Metered, "allow")
	setIfZero(&c.Rules.OnBattery, "allow")
}
