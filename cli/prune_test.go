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
		if got := stateHint(base, tc.f, tc.left).Error(); got != tc.want {
			t.Errorf("%+v %d:\ngot  %s\nwant %s", tc.f, tc.left, got, tc.want)
		}
	}
}
