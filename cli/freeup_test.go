package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/freeup"
	"github.com/cloudkeep/cloudkeep/journal"
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

// The summary names every trash a file went to: one on another volume
// goes to that volume's.
func TestReportFreed_EveryTrash(t *testing.T) {
	res := freeup.Result{Freed: []freeup.Freed{
		{Item: freeup.Item{File: journal.File{Identity: journal.Identity{Size: 1024}}}, To: "/home/a/.local/share/Trash/files/a.jpg"},
		{Item: freeup.Item{File: journal.File{Identity: journal.Identity{Size: 1024}}}, To: "/dev/shm/.Trash-1000/files/b.jpg"},
		{Item: freeup.Item{File: journal.File{Identity: journal.Identity{Size: 1024}}}, To: "/home/a/.local/share/Trash/files/c.jpg"},
	}}
	var out, errw strings.Builder
	if err := reportFreed(&out, &errw, res, nil, false, "/home/a/.local/share/Trash", false); err != nil {
		t.Fatal(err)
	}
	want := "Moved 3 files (3.0 KiB) to the trash (/home/a/.local/share/Trash, /dev/shm/.Trash-1000).\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
