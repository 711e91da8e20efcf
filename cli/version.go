package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Commit and BuildDate are set at build time with -ldflags "-X
// github.com/cloudkeep/cloudkeep/cli.Commit=… -X …cli.BuildDate=…"
// (scripts/version.sh gives Version). A plain `go build` in a checkout
// leaves them empty: the commit and its time then come from the build
// information Go stamps into the binary.
var (
	Commit    = ""
	BuildDate = ""
)

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			printVersion(g.stdout, info)
			return nil
		},
	}
}

// printVersion prints the -X values, falling back to the VCS stamp in info.
func printVersion(w io.Writer, info *debug.BuildInfo) {
	commit, date := Commit, BuildDate
	if info != nil {
		vcs := map[string]string{}
		for _, s := range info.Settings {
			vcs[s.Key] = s.Value
		}
		if commit == "" && vcs["vcs.revision"] != "" {
			commit = vcs["vcs.revision"]
			if vcs["vcs.modified"] == "true" {
				commit += " (modified)"
			}
		}
		if date == "" {
			date = vcs["vcs.time"]
		}
	}
	fmt.Fprintf(w, "cloudkeep %s\n", Version)
	fmt.Fprintf(w, "commit:  %s\n", orUnknown(commit))
	fmt.Fprintf(w, "built:   %s\n", orUnknown(date))
	fmt.Fprintf(w, "go:      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
