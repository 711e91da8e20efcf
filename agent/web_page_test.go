package agent

import (
	"strings"
	"testing"
	"time"
)

// The status page shows the last upload, each open alert, the rule
// holding the queue and the last verify's result, with what to run when it
// found something.
func TestStatusPage_LastUploadAlertsVerify(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	s := Status{State: StateRunning, Device: "laptop", Now: now, StartedAt: now.Add(-time.Hour)}
	render := func() string {
		t.Helper()
		var b strings.Builder
		if err := statusPage.Execute(&b, statusView{Status: s}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if page := render(); !strings.Contains(page, `<b id="last-upload">never</b>`) || strings.Contains(page, `id="verify"`) || strings.Contains(page, "Alert:") {
		t.Errorf("a page with nothing to tell:\n%s", page)
	}
	s.Totals.LastUpload = now.Add(-90 * time.Second)
	s.Alerts = []AlertStatus{{Cause: CauseStorageUnreachable, Subject: "storage unreachable", Since: now.Add(-time.Hour)}}
	s.Verify = &VerifyStatus{At: now.Add(-2 * time.Hour), Files: 120, Objects: 119, Counts: map[string]int{"missing_remote": 1}, Failing: 1}
	page := render()
	for _, want := range []string{
		`<b id="last-upload">1m30s ago</b>`,
		`<p class="warn" id="alert-storage_unreachable">Alert: storage unreachable — since 11:00:00 (1h0m0s)</p>`,
		`<p id="verify">10:00:00: 120 files, 119 objects — <span class="warn">1 not stored whole</span> · 1 missing_remote; run <code>cloudkeep verify --repair</code></p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks\n%s\nin\n%s", want, page)
		}
	}
	s.Rules = &RulesStatus{Holding: "outside the upload windows (next opens Sun 01:00)", Rule: "rules.windows", SentTodayBytes: 3 << 20, DailyCapBytes: 5 << 30}
	page = render()
	for _, want := range []string{
		`<p class="warn" id="rules">Uploads held: outside the upload windows (next opens Sun 01:00) — <code>rules.windows</code></p>`,
		`<p id="daily-cap">Sent today: 3.0 MiB of the 5.0 GiB daily cap</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks\n%s\nin\n%s", want, page)
		}
	}
	s.Verify = &VerifyStatus{At: now, Files: 120, Objects: 120}
	if page := render(); !strings.Contains(page, "120 objects — all stored</p>") {
		t.Errorf("a clean verify:\n%s", page)
	}
}
