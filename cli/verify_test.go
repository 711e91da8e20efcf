package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
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
