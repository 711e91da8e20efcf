package cli

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
)

// cloudkeep version prints the -X values; a plain `go build` has none and
// falls back to the VCS stamp Go writes into the binary.
func TestPrintVersion(t *testing.T) {
	stamp := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "27ebb04aa1"}, {Key: "vcs.time", Value: "2026-11-20T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	goLine := fmt.Sprintf("go:      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, tc := range []struct {
		name, version, commit, date string
		info                        *debug.BuildInfo
		want                        string
	}{
		{"ldflags", "1.2.0", "27ebb04", "2026-11-27T08:00:00Z", stamp,
			"cloudkeep 1.2.0\ncommit:  27ebb04\nbuilt:   2026-11-27T08:00:00Z\n" + goLine},
		{"go build", "dev", "", "", stamp,
			"cloudkeep dev\ncommit:  27ebb04aa1 (modified)\nbuilt:   2026-11-20T10:00:00Z\n" + goLine},
		{"nothing known", "dev", "", "", nil,
			"cloudkeep dev\ncommit:  unknown\nbuilt:   unknown\n" + goLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Version, Commit, BuildDate = tc.version, tc.commit, tc.date
			t.Cleanup(func() { Version, Commit, BuildDate = "dev", "", "" })
			var out bytes.Buffer
			printVersion(&out, tc.info)
			if out.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
}
