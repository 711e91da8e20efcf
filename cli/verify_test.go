package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/verify"
)

func TestPrintVerify(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.Local)
	tests := []struct {
		name string
		v    *agent.VerifyStatus
		want string
	}{
		{"none yet", nil, ""},
		{"all stored", &agent.VerifyStatus{At: at, Files: 12345, Counts: map[string]int{"missing_remote": 0}},
			"verify: 2026-11-27 03:00, 12,345 files, all stored\n"},
		{"remote only", &agent.VerifyStatus{At: at, Files: 3, Counts: map[string]int{"remote_only": 2}},
			"verify: 2026-11-27 03:00, 3 files, all stored, 2 remote_only (objects no journal row holds: not a failure)\n"},
		{"findings", &agent.VerifyStatus{At: at, Files: 12345, Failing: 4, Counts: map[string]int{"missing_remote": 3, "size_mismatch": 1}},
			"verify: 2026-11-27 03:00, 12,345 files, 3 missing_remote, 1 size_mismatch — run `cloudkeep verify --repair`\n"},
		{"error", &agent.VerifyStatus{At: at, Error: "storage unreachable"},
			"verify: 2026-11-27 03:00, could not compare: storage unreachable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printVerify(&b, agent.Status{Verify: tt.v}, at)
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestVerifyRepairable_NewKey(t *testing.T) {
	rep := verify.Report{Findings: []verify.Finding{
		{Reason: verify.NotUploaded, Root: "p", Rel: "a.jpg", Repair: true},
		{Reason: verify.MissingRemote, Root: "p", Rel: "a.jpg", Repair: true, NewKey: true},
		{Reason: verify.MissingRemote, Root: "p", Rel: "b.jpg", Repair: true},
		{Reason: verify.HashMismatch, Root: "p", Rel: "c.jpg"},
	}}
	got := repairable(rep)
	want := []agent.RepairFile{{Root: "p", Path: "a.jpg", NewKey: true}, {Root: "p", Path: "b.jpg"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestVerifySummaryLine(t *testing.T) {
	rep := verify.Report{Tracked: 2, Failing: 1, RootErrors: []verify.RootError{{Path: "/p", Missing: true}},
		Counts: map[verify.Reason]int{verify.NotUploaded: 0, verify.RemoteOnly: 0}}
	if got, want := summaryLine(rep, time.Second), "verified 2 files, 0 objects in 1s: 1 watched folder(s) not walked"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var b bytes.Buffer
	printFindings(&b, verifyOutput{Report: verify.Report{Counts: map[verify.Reason]int{}, Findings: []verify.Finding{
		{Reason: verify.NotUploaded, Path: "/p/a\nb.jpg", Detail: "not in the journal"}}}})
	if want := "not_uploaded    \"/p/a\\nb.jpg\"  not in the journal\n"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("got %q, want it to start with %q", b.String(), want)
	}
}
