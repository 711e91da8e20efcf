package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseOlderThan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"0", 0, true},
		{"0d", 0, true},
		{"-1d", 0, false},
		{"3 months", 0, false},
		{"d", 0, false},
	} {
		got, err := parseOlderThan(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseOlderThan(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, " yes \n": true, "\n": false, "n\n": false, "": false, "yep\n": false} {
		var out strings.Builder
		if got := confirm(&out, strings.NewReader(in), "Move 2 files (1.0 KiB) to the trash?"); got != want {
			t.Errorf("answer %q: %v, want %v", in, got, want)
		}
		if out.String() != "Move 2 files (1.0 KiB) to the trash? [y/N] " {
			t.Errorf("question %q", out.String())
		}
	}
}
