package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/storage"
)

// The text status names the account, an unreachable storage (since when,
// for how long, why) and a full state disk, each on a line of its own.
func TestPrintStatus_Problems(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	s := agent.Status{
		State: agent.StateRunning, Device: "laptop", Account: "acc_7f3k", StartedAt: now.Add(-time.Hour),
		Storage: storage.HealthStatus{Endpoint: "127.0.0.1:9000", Since: now.Add(-42 * time.Second),
			LastError: "dial tcp 127.0.0.1:9000: connect: connection refused"},
		StateFull: "state_dir /var/lib/cloudkeep is full: free space; cloudkeep carries on by itself",
	}
	var out bytes.Buffer
	printStatus(&out, s, now)
	want := `agent: running on laptop, up 1h0m0s
account: acc_7f3k
storage: 127.0.0.1:9000 unreachable since 11:59:18 (42s): dial tcp 127.0.0.1:9000: connect: connection refused
state_dir /var/lib/cloudkeep is full: free space; cloudkeep carries on by itself
folders:
queue: 0 file(s), 0 B pending
since start: 0 uploaded (0 B), 0 copied on the server, 0 already stored, 0 vanished, 0 failed
last upload: never
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	out.Reset()
	s.Account, s.StateFull, s.Storage = "", "", storage.HealthStatus{Endpoint: "127.0.0.1:9000", Reachable: true}
	printStatus(&out, s, now)
	if want := "agent: running on laptop, up 1h0m0s\nfolders:\n"; out.String()[:len(want)] != want {
		t.Errorf("got\n%s\nwant it to start with\n%s", out.String(), want)
	}
}

// The last upload shows its time and how long ago, with the date when it
// was not today.
func TestWhen(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-42 * time.Second), "11:59:18 (42s ago)"},
		{now.Add(-3*time.Hour - 20*time.Second), "08:59:40 (3h0m0s ago)"},
		{now.Add(-50 * time.Hour), "2026-02-27 10:00 (50h0m0s ago)"},
	} {
		if got := when(c.t, now); got != c.want {
			t.Errorf("when(%s) = %q, want %q", c.t, got, c.want)
		}
	}
}
