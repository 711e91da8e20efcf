package cli

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/servicetmpl"
)

// systemdFuncs are the functions kardianos/service gives systemd units
// (service_linux.go).
var systemdFuncs = map[string]servicetmpl.Func{
	"cmd":       func(s string) (string, error) { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`, nil },
	"cmdEscape": func(s string) (string, error) { return strings.ReplaceAll(s, " ", `\x20`), nil },
}

// The command read back from a rendered unit or script is the one that was
// installed, word for word, so that status and start use its config.
func TestInstalledCommand_ReadsBackWhatInstallWrote(t *testing.T) {
	bin := "/opt/cloud keep/cloudkeep"
	sc, err := serviceConfig(awkwardConfig, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{bin}, sc.Arguments...)
	data := map[string]any{
		"Description": sc.Description, "DisplayName": sc.DisplayName, "Path": bin, "Arguments": sc.Arguments,
		"WorkingDirectory": "", "LogDirectory": "/var/log", "EnvVars": []string(nil),
	}
	for _, tc := range []struct {
		name, tmpl string
		funcs      map[string]servicetmpl.Func
		read       func(string) []string
	}{
		{"systemd", sc.Option["SystemdScript"].(string), systemdFuncs, unitCommand},
		{"sysv", sc.Option["SysvScript"].(string), nil, scriptCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := servicetmpl.Render(tc.tmpl, data, tc.funcs)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.read(out); !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if got := commandConfig(tc.read(out)); got != awkwardConfig {
				t.Errorf("config: got %q, want %q", got, awkwardConfig)
			}
			if !strings.Contains(out, "\n"+serviceMarker+"\n") && !strings.HasPrefix(out, serviceMarker+"\n") {
				t.Errorf("no %q line in:\n%s", serviceMarker, out)
			}
		})
	}
}

// Who may manage which service, said in words with exit 2.
func TestService_RootOrUser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	useSystem(t, systemSystemd)
	userHome(t)
	for _, tc := range []struct {
		euid int
		args []string
		want string
	}{
		{0, []string{"service", "install", "--user"}, "cloudkeep: --user is a service of the user who runs the command, and root has no user session: run it as that user, or drop --user for the system service\n"},
		{1000, []string{"service", "install"}, "cloudkeep: the system service needs root: run `sudo cloudkeep service install`, or add --user for a per-user service\n"},
		{1000, []string{"service", "stop"}, "cloudkeep: the system service needs root: run `sudo cloudkeep service stop`, or add --user for a per-user service\n"},
	} {
		asUser(t, tc.euid)
		var out bytes.Buffer
		code := mainWith(context.Background(), tc.args, &out, &out)
		if code != exitUsage || out.String() != tc.want {
			t.Errorf("%v as %d: got exit %d, %q\nwant exit %d, %q", tc.args, tc.euid, code, out.String(), exitUsage, tc.want)
		}
	}
}
