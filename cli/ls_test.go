package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/restore"
)

func TestPrintItems(t *testing.T) {
	items := []restore.Item{
		{Rel: "laptop/pictures/a.jpg", Device: "laptop", Size: 2048, MTime: time.Date(2024, 5, 1, 12, 0, 0, 0, time.Local)},
		{Rel: "laptop/pictures/new\nline.jpg", Device: "laptop"},
		{Rel: "laptop/pictures/\x1b[31mred.jpg", Device: "laptop"},
		{Rel: "laptop/pictures/caf\xe9.jpg", Device: "laptop"},
	}
	for _, tc := range []struct {
		name string
		long bool
		want string
	}{
		{"short", false, "laptop/pictures/a.jpg\n\"laptop/pictures/new\\nline.jpg\"\n\"laptop/pictures/\\x1b[31mred.jpg\"\n\"laptop/pictures/caf\\xe9.jpg\"\n"},
		{"long", true, "   2.0 KiB  2024-05-01 12:00  laptop        laptop/pictures/a.jpg\n" +
			"       0 B  0001-01-01 00:00  laptop        \"laptop/pictures/new\\nline.jpg\"\n" +
			"       0 B  0001-01-01 00:00  laptop        \"laptop/pictures/\\x1b[31mred.jpg\"\n" +
			"       0 B  0001-01-01 00:00  laptop        \"laptop/pictures/caf\\xe9.jpg\"\n" +
			"4 file(s), 2.0 KiB\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printItems(&b, items, tc.long)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestLsNoMatch(t *testing.T) {
	for f, want := range map[restoreFlags]string{
		{}:                                     "this account has no backed-up files",
		{prefix: "dev3/"}:                      `no backed-up file matches prefix "dev3/"`,
		{device: "phone", since: "2024-01-01"}: `no backed-up file matches --device "phone" --since 2024-01-01`,
	} {
		if got := lsNoMatch(f).Error(); got != want {
			t.Errorf("%+v: got %q, want %q", f, got, want)
		}
	}
}
