package config_test

import (
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

func TestLoad_Rules(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid+`rules:
  metered: pause
  on_battery: pause
  windows:
    - "01:00-06:00"
    - "Sat 00:00-Sun 23:59"
    - {time: "12:00-13:00", bandwidth_limit: 2MiB/s}
    - {time: "14:00-15:00", bandwidth_limit: 0}
  daily_cap: 5GiB
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules
	if r.Metered != "pause" || r.OnBattery != "pause" || r.MeteredNetwork || r.DailyCap != 5<<30 {
		t.Errorf("rules: got %+v", r)
	}
	want := []config.Window{{Time: "01:00-06:00"}, {Time: "Sat 00:00-Sun 23:59"}, {Time: "12:00-13:00", BandwidthLimit: 2 << 20},
		{Time: "14:00-15:00", Unlimited: true}}
	if len(r.Windows) != len(want) {
		t.Fatalf("windows: got %+v, want %+v", r.Windows, want)
	}
	for i := range want {
		if r.Windows[i] != want[i] {
			t.Errorf("windows[%d]: got %+v, want %+v", i, r.Windows[i], want[i])
		}
	}
}

func TestLoad_RulesDefaults(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Rules; r.Metered != "allow" || r.OnBattery != "allow" || len(r.Windows) != 0 || r.DailyCap != 0 {
		t.Errorf("rules by default: got %+v, want metered and on_battery allow, nothing else", r)
	}
}

func TestLoad_RulesErrors(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ rules, want string }{
		{"rules:\n  windows:\n    - \"01:00-06:00\"\n    - \"25:00-06:00\"\n",
			`:30: rules.windows[1]: "25:00-06:00": hour must be 00-23`},
		{"rules:\n  windows:\n    - {time: \"Sun 23:00-Mon\", bandwidth_limit: 1MiB/s}\n",
			`:29: rules.windows[0]: "Sun 23:00-Mon": "Mon" is not a time (use HH:MM, e.g. 06:30)`},
		{"rules:\n  windows:\n    - {time: \"01:00-02:00\", bandwidth_limit: 2MiB}\n",
			`:29: rules.windows[0].bandwidth_limit: "2MiB" is not a rate (use e.g. 20MiB/s, or 0 for no limit)`},
		{"rules:\n  windows:\n    - {bandwidth_limit: 1MiB/s}\n",
			`:29: rules.windows[0]: required: a time such as "01:00-06:00" or "Sat 00:00-Sun 23:59"`},
		{"rules:\n  metered: stop\n", `:28: rules.metered: "stop" is not one of pause, allow`},
		{"rules:\n  on_battery: yes\n", `:28: rules.on_battery: "yes" is not one of pause, allow`},
		{"rules:\n  daily_cap: lots\n", `:28: rules.daily_cap: "lots" is not a size (use e.g. 16MiB, 1GiB)`},
		{"rules:\n  daily_cap: 5\n", `:28: rules.daily_cap: 5 B: too small to be meant; write a unit, e.g. 5GiB (at least 1MiB, or 0 for no cap)`},
		{"rules:\n  window: [\"01:00-06:00\"]\n", `:28: rules.window: unknown key (known keys here: metered, metered_network, on_battery, windows, daily_cap)`},
	} {
		_, err := config.Load(write(t, valid+tc.rules))
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.Contains(err.Error(), "config.yaml:") {
			t.Errorf("rules %q:\n got %v\nwant …config.yaml%s", tc.rules, err, tc.want)
		}
	}
}

// Environment variables set the scalar keys, as for every other section.
func TestLoad_RulesFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("CLOUDKEEP_RULES_METERED", "pause")
	t.Setenv("CLOUDKEEP_RULES_DAILY_CAP", "1GiB")
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.Metered != "pause" || c.Rules.DailyCap != 1<<30 {
		t.Errorf("rules from the environment: got %+v", c.Rules)
	}
}
