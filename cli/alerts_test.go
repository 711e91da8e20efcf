package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
)

func TestPrintAlerts(t *testing.T) {
	now := time.Date(2026, 3, 1, 14, 14, 30, 0, time.Local)
	var b strings.Builder
	printAlerts(&b, agent.Status{}, now)
	if b.String() != "" {
		t.Errorf("without alerts: %q, want nothing", b.String())
	}
	s := agent.Status{Alerts: []agent.AlertStatus{
		{Cause: agent.CauseStorageUnreachable, Subject: "storage unreachable", Since: time.Date(2026, 3, 1, 13, 2, 0, 0, time.Local)},
		{Cause: agent.CauseNothingUploaded, Subject: "nothing uploaded while files wait", Since: time.Date(2026, 2, 25, 9, 30, 0, 0, time.Local)},
	}}
	printAlerts(&b, s, now)
	want := "alerts open: storage unreachable for 1h12m (since 13:02); nothing uploaded while files wait for 4d4h (since 2026-02-25 09:30)\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}
