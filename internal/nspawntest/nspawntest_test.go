package nspawntest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
)

// Two containers at once, one of each kind: each has its own root, and
// only Boot has a systemd.
func TestBootAndPlain(t *testing.T) {
	start := time.Now()
	var boot, plain *nspawntest.Container
	t.Run("group", func(t *testing.T) {
		t.Run("boot", func(t *testing.T) {
			t.Parallel()
			boot = nspawntest.Boot(t)
			t.Logf("booted in %v", time.Since(start).Round(time.Millisecond))
			if got := strings.TrimSpace(boot.Run(t, "systemctl", "is-system-running")); got != "running" && got != "degraded" {
				t.Errorf("is-system-running: got %q, want running", got)
			}
			if _, err := boot.Exec("test", "-d", "/run/systemd/system"); err != nil {
				t.Errorf("no /run/systemd/system under Boot: %v", err)
			}
			boot.WriteFile(t, "/etc/systemd/system/hello.service", []byte(
				"[Service]\nType=oneshot\nExecStart=/bin/echo hello from the container\n"), 0o644)
			boot.Run(t, "systemctl", "daemon-reload")
			boot.Run(t, "systemctl", "start", "hello")
			if got := boot.Journal(t, "hello"); !strings.Contains(got, "hello from the container") {
				t.Errorf("journal of hello.service:\n%s", got)
			}
			checkOwnRoot(t, boot, "boot")
		})
		t.Run("plain", func(t *testing.T) {
			t.Parallel()
			plain = nspawntest.Plain(t)
			if out, err := plain.Exec("test", "-e", "/run/systemd/system"); err == nil {
				t.Errorf("/run/systemd/system exists under Plain: %s", out)
			}
			if got := strings.TrimSpace(plain.Run(t, "cat", "/proc/1/comm")); got != "(sd-stubinit)" {
				t.Errorf("PID 1 under Plain: got %q, want systemd-nspawn's stub init", got)
			}
			checkOwnRoot(t, plain, "plain")
		})
	})
	t.Logf("both up and checked in %v", time.Since(start).Round(time.Millisecond))
}

// checkOwnRoot writes a file inside c and reads it back from the inside and
// through Root, to check that the container has a copy of its own.
func checkOwnRoot(t *testing.T, c *nspawntest.Container, name string) {
	t.Helper()
	c.WriteFile(t, "/srv/deep/who", []byte(name), 0o600)
	if got := c.Run(t, "cat", "/srv/deep/who"); got != name {
		t.Errorf("/srv/deep/who inside: got %q, want %q", got, name)
	}
	fi, err := os.Stat(filepath.Join(c.Root(), "srv/deep/who"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("/srv/deep/who through Root: %v, %v; want mode 0600", fi, err)
	}
	if _, err := c.Exec("false"); err == nil {
		t.Error("Exec(false) returned no error")
	}
}
