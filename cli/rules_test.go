package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/rules"
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

// bandwidth_limit: 0 in a window means no limit while it is open, even
// under a storage.bandwidth_limit.
func TestPolicy_WindowWithoutLimit(t *testing.T) {
	cfg := &config.Agent{}
	cfg.Storage.BandwidthLimit = 2 << 20
	cfg.Rules.Windows = []config.Window{{Time: "01:00-06:00", Unlimited: true}, {Time: "12:00-13:00"}}
	p := policy(cfg)
	if v := p.Evaluate(time.Date(2026, 11, 27, 2, 0, 0, 0, time.Local), rules.Conditions{}); v.Limit != 0 {
		t.Errorf("in the window with bandwidth_limit: 0: limit %d, want 0 (none)", v.Limit)
	}
	if v := p.Evaluate(time.Date(2026, 11, 27, 12, 30, 0, 0, time.Local), rules.Conditions{}); v.Limit != 2<<20 {
		t.Errorf("in the window without bandwidth_limit: limit %d, want storage's 2 MiB/s", v.Limit)
	}
}

// While a rule holds uploads, the upload waiting between its parts says
// so, and `cloudkeep resume` says the rule still holds them.
func TestPrintHeld(t *testing.T) {
	s := agent.Status{Uploads: []agent.UploadStatus{{Key: "alice/v.mp4", Size: 200 << 20, Done: 56 << 20, Percent: 28, Held: "rules.windows"}},
		Rules: &agent.RulesStatus{Holding: "outside the upload windows (next opens 22:00)", Rule: "rules.windows", HeldBy: []string{"rules.windows"}}}
	var b bytes.Buffer
	printStatus(&b, s, time.Now())
	if want := "28% of 200 MiB (held: rules.windows)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("status:\n%s\nwant a line ending %q", b.String(), want)
	}
	b.Reset()
	printStillHeld(&b, s)
	if want := "uploads still held: outside the upload windows (next opens 22:00) — rules.windows\n"; b.String() != want {
		t.Errorf("resume: got %q, want %q", b.String(), want)
	}
	b.Reset()
	printStillHeld(&b, agent.Status{Rules: &agent.RulesStatus{}})
	if b.Len() != 0 {
		t.Errorf("resume with nothing held: got %q", b.String())
	}
}
