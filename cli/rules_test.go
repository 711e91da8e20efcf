package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
)

func TestPrintRules(t *testing.T) {
	now := time.Date(2026, 11, 27, 14, 0, 0, 0, time.Local) // a Friday
	for _, tc := range []struct {
		name  string
		rules *agent.RulesStatus
		want  string
	}{
		{"no rules", nil, ""},
		{"outside the windows", &agent.RulesStatus{Holding: "outside the upload windows (next opens Sat 00:00)", Rule: "rules.windows", HeldBy: []string{"rules.windows"}},
			"uploads held: outside the upload windows (next opens Sat 00:00) — rules.windows\n"},
		{"metered and on battery", &agent.RulesStatus{Holding: "metered network", Rule: "rules.metered", HeldBy: []string{"rules.metered", "rules.on_battery"}},
			"uploads held: metered network — rules.metered: pause\n  also held by: rules.on_battery\n"},
		{"the daily cap", &agent.RulesStatus{Holding: "5.0 GiB sent today, the daily cap", Rule: "rules.daily_cap", HeldBy: []string{"rules.daily_cap"},
			SentTodayBytes: 5 << 30, DailyCapBytes: 5 << 30},
			"uploads held: 5.0 GiB sent today, the daily cap — rules.daily_cap (resumes at midnight)\nsent today: 5.0 GiB of the 5.0 GiB daily cap\n"},
		{"in a window", &agent.RulesStatus{Window: "12:00-16:00", WindowCloses: now.Add(2 * time.Hour), BandwidthLimit: 2 << 20,
			SentTodayBytes: 300 << 20, DailyCapBytes: 5 << 30},
			"upload window 12:00-16:00 open until 16:00, at most 2.0 MiB/s\nsent today: 300 MiB of the 5.0 GiB daily cap\n"},
		{"allowed, no window", &agent.RulesStatus{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printRules(&b, agent.Status{Rules: tc.rules}, now)
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}
