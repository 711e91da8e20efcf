package packaging_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/packaging"
)

var update = flag.Bool("update", false, "rewrite cloudkeep.service from the template")

var packagedArgs = []string{"run", "--config", "/etc/cloudkeep/config.yaml"}

// cloudkeep.service, shipped in the packages, is the system template
// rendered for /usr/bin/cloudkeep: one source for both.
func TestSystemUnit_MatchesTemplate(t *testing.T) {
	got := packaging.Render(packaging.SystemdSystem, "/usr/bin/cloudkeep", packagedArgs)
	if *update {
		os.WriteFile("cloudkeep.service", []byte(got), 0o644)
	}
	want, err := os.ReadFile("cloudkeep.service")
	if err != nil || string(want) != got {
		t.Errorf("cloudkeep.service differs from the rendered template: run go test ./packaging -run MatchesTemplate -update")
	}
}

func TestSystemUnit_Hardening(t *testing.T) {
	unit := packaging.SystemdSystem
	for _, line := range []string{
		"Type=notify", "Restart=on-failure", "StateDirectory=cloudkeep", "RuntimeDirectory=cloudkeep",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=yes",
		"ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=", "User=cloudkeep",
		"WantedBy=multi-user.target",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(unit) {
			t.Errorf("system unit lacks %q", line)
		}
	}
	if !strings.Contains(packaging.SystemdUser, "WantedBy=default.target") {
		t.Error("the user unit must start at login (WantedBy=default.target)")
	}
}

// writeUnit renders a template with ExecStart pointing at a binary that
// exists here, as systemd-analyze checks it.
func writeUnit(t *testing.T, tmpl string) string {
	t.Helper()
	bin, _ := exec.LookPath("true")
	path := filepath.Join(t.TempDir(), "cloudkeep.service")
	os.WriteFile(path, []byte(packaging.Render(tmpl, bin, packagedArgs)), 0o644)
	return path
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing: install Debian's systemd package")
		}
		t.Skip("systemd-analyze is missing")
	}
	return p
}

func TestUnits_Verify(t *testing.T) {
	sa := systemdAnalyze(t)
	for name, tmpl := range map[string]string{"system": packaging.SystemdSystem, "user": packaging.SystemdUser} {
		args := []string{"verify"}
		cmd := exec.Command(sa)
		if name == "user" {
			args = append(args, "--user")
			cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
		}
		cmd.Args = append(cmd.Args, append(args, writeUnit(t, tmpl))...)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s unit: systemd-analyze verify: %v\n%s", name, err, out)
		}
	}
}

// The exposure score of `systemd-analyze security`: below 4.0 ("OK").
func TestSystemUnit_SecurityScore(t *testing.T) {
	sa := systemdAnalyze(t)
	out, _ := exec.Command(sa, "security", "--offline=true", "--no-pager", writeUnit(t, packaging.SystemdSystem)).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: %s %s", m[1], m[2])
	if score >= 4.0 {
		t.Errorf("exposure %.1f %s, want below 4.0:\n%s", score, m[2], out)
	}
}
