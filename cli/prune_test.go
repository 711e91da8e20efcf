package cli

import (
	"errors"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "0s": 0, "36h": 36 * time.Hour, "0d": 0} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "-3h", "ninety days", "1.5d"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("%q: got no error", in)
		}
	}
	// Days times 24 hours overflowed to a cut-off in the future, and
	// prune removed everything.
	if got, err := parseAge("36525d"); err != nil || got != 36525*24*time.Hour {
		t.Errorf("36525d: %v %v", got, err)
	}
	for _, in := range []string{"36526d", "999999d", "106751d", "9223372036854775807d", "876601h", "2562047h"} {
		if got, err := parseAge(in); !errors.Is(err, errTooOld) {
			t.Errorf("%q: got %v %v, want refused as more than 100 years", in, got, err)
		}
	}
}

// A selection that holds nothing because the files were deleted or
// renamed away says so, and how to have them.
func TestStateHint(t *testing.T) {
	base := errors.New("nothing to restore: this account has no backed-up files")
	for _, tc := range []struct {
		f    restoreFlags
		left int
		want string
	}{
		{restoreFlags{verb: "restoring"}, 0, base.Error()},
		{restoreFlags{verb: "restoring"}, 3, "nothing to restore: no stored file was on its device now (3 deleted or renamed away there): --as-of DAY for the files of an earlier day, --all for every file ever stored"},
		{restoreFlags{asOf: "2026-03-01"}, 1, "nothing to list: no stored file was on its device at 2026-03-01 (1 deleted or renamed away there): --all for every file ever stored"},
		{restoreFlags{verb: "restoring", prefix: "laptop/"}, 2, base.Error() + "; 2 stored file(s) were deleted or renamed away on their device (now): --as-of DAY for the files of an earlier day, --all for every file ever stored"},
	} {
		if got := stateHint(base, tc.f, tc.left, 0).Error(); got != tc.want {
			t.Errorf("%+v %d:\ngot  %s\nwant %s", tc.f, tc.left, got, tc.want)
		}
	}
	// Files stored after --as-of were not deleted there: they did not exist.
	want := "no backed-up file matches --as-of 1970-01-01: no stored file existed on its device at 1970-01-01 (5 stored later): a later --as-of, or --all for every file ever stored"
	if got := stateHint(errors.New("no backed-up file matches --as-of 1970-01-01"), restoreFlags{asOf: "1970-01-01"}, 0, 5).Error(); got != want {
		t.Errorf("before any file:\ngot  %s\nwant %s", got, want)
	}
}
