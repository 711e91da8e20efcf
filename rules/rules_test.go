package rules

import (
	"testing"
	"time"
)

func TestPolicy_Evaluate(t *testing.T) {
	night := windows(t, "01:00-06:00", "Sat 00:00-Sun 23:59", "Wed 12:00-13:00")
	night[0].Limit = 2 << 20
	night[2].Unlimited = true // bandwidth_limit: 0
	p := Policy{PauseMetered: true, PauseOnBattery: true, Windows: night, DailyCap: 5 << 30, BaseLimit: 1 << 20}
	for _, tc := range []struct {
		name   string
		now    time.Time
		c      Conditions
		holds  []string
		reason string
		limit  int64
	}{
		{"in a window with its limit", at(1, 2, 0), Conditions{}, nil, "", 2 << 20},
		{"in a window with the storage's limit", at(5, 12, 0), Conditions{}, nil, "", 1 << 20},
		{"in a window without a limit", at(2, 12, 30), Conditions{}, nil, "", 0},
		{"outside", at(1, 12, 0), Conditions{}, []string{RuleWindows}, "outside the upload windows (next opens Wed 01:00)", 1 << 20},
		{"outside, later today", at(1, 0, 30), Conditions{}, []string{RuleWindows}, "outside the upload windows (next opens 01:00)", 1 << 20},
		{"metered", at(1, 2, 0), Conditions{Metered: true}, []string{RuleMetered}, "metered network", 2 << 20},
		{"on battery", at(1, 2, 0), Conditions{OnBattery: true}, []string{RuleOnBattery}, "on battery", 2 << 20},
		{"cap reached", at(1, 2, 0), Conditions{SentToday: 5 << 30}, []string{RuleDailyCap}, "5.0 GiB sent today, the daily cap", 2 << 20},
		{"below the cap", at(1, 2, 0), Conditions{SentToday: 5<<30 - 1}, nil, "", 2 << 20},
		{"all at once", at(1, 12, 0), Conditions{Metered: true, OnBattery: true, SentToday: 6 << 30},
			[]string{RuleMetered, RuleOnBattery, RuleWindows, RuleDailyCap}, "metered network", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := p.Evaluate(tc.now, tc.c)
			var got []string
			for _, h := range v.Holds {
				got = append(got, h.Rule)
			}
			if len(got) != len(tc.holds) {
				t.Fatalf("holds: got %v, want %v", got, tc.holds)
			}
			for i := range got {
				if got[i] != tc.holds[i] {
					t.Fatalf("holds: got %v, want %v", got, tc.holds)
				}
			}
			if h, _ := v.Holding(); h.Reason != tc.reason {
				t.Errorf("reason: got %q, want %q", h.Reason, tc.reason)
			}
			if v.Limit != tc.limit {
				t.Errorf("limit: got %d, want %d", v.Limit, tc.limit)
			}
			if v.Allowed() != (len(tc.holds) == 0) {
				t.Errorf("allowed: got %v with holds %v", v.Allowed(), got)
			}
		})
	}
}

func TestPolicy_EvaluateCapUntilMidnight(t *testing.T) {
	p := Policy{DailyCap: 100}
	v := p.Evaluate(at(2, 15, 0), Conditions{SentToday: 100})
	h, ok := v.Holding()
	if !ok || !h.Until.Equal(at(3, 0, 0)) {
		t.Errorf("cap hold: got %+v, want one until Thursday 00:00", h)
	}
}

func TestMoment(t *testing.T) {
	now := at(1, 12, 0)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{at(1, 18, 0), "18:00"},
		{at(5, 0, 0), "Sat 00:00"},
		{at(9, 1, 0), "2026-12-02 01:00"},
		{time.Time{}, "never"},
	} {
		if got := Moment(tc.t, now); got != tc.want {
			t.Errorf("Moment(%s): got %q, want %q", tc.t, got, tc.want)
		}
	}
}
