package packaging_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
)

// agentBinary builds a linux/amd64 cloudkeep binary as `make package`
// builds it, into the test's temporary directory.
func agentBinary(t *testing.T) string {
	t.Helper()
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cloudkeep")
	ldflags := "-s -w -X github.com/cloudkeep/cloudkeep/cli.Version=0.0.0+test"
	run(t, root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, ".")
	return bin
}

// installBinary copies the freshly built binary to /usr/local/bin/cloudkeep
// in the container, as an administrator installs a release.
func installBinary(t *testing.T, c *nspawntest.Container) {
	t.Helper()
	data, err := os.ReadFile(agentBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, "/usr/local/bin/cloudkeep", data, 0o755)
}

// agentConfig is a config for the agent on s: watched folder, state_dir and
// the secret key file as given (the key file may start with ~).
func agentConfig(s *miniotest.Server, bucket, watch, stateDir, keyFile string) string {
	return fmt.Sprintf(`device:
  name: box
storage:
  endpoint: %s
  secure: false
  bucket: %s
  user: alice
  credentials:
    access_key: %s
    secret_key_file: %s
watch:
  - path: %s
    name: photos
state_dir: %s
settle: 200ms
shutdown_grace: 2s
`, s.Endpoint, bucket, s.AccessKey, keyFile, watch, stateDir)
}

// exitCode runs args in c and returns the output and the exit status.
func exitCode(c *nspawntest.Container, args ...string) (string, int) {
	out, err := c.Exec(args...)
	if err == nil {
		return out, 0
	}
	var code int
	if _, scanErr := fmt.Sscanf(err.Error(), "exit status %d", &code); scanErr != nil {
		return out + err.Error(), -1
	}
	return out, code
}

// rcLinks lists the System V runlevel links to cloudkeep's init script.
func rcLinks(c *nspawntest.Container) []string {
	links, _ := filepath.Glob(filepath.Join(c.Root(), "etc", "rc?.d", "*cloudkeep"))
	return links
}

// `cloudkeep service` on a System V machine (no init system running: the
// commands go through `service` and /etc/init.d), as an administrator
// uses it: install the release binary, install the service with a config
// path holding a space, start, back up, drive the init script directly,
// fail to start on a broken config and on a missing bucket with the reason
// printed, uninstall without leftovers.
func TestService_SystemV(t *testing.T) {
	began := time.Now()
	c := nspawntest.Plain(t)
	s := miniotest.Start(t)
	installBinary(t, c)
	const cfgPath = "/etc/cloud keep/config.yaml"
	// `service` runs init scripts with an empty environment (no HOME): ~
	// in the config comes from root's passwd entry.
	config := agentConfig(s, s.Bucket, "/srv/photos", "/var/lib/cloudkeep", "~/cloudkeep-secret")
	c.WriteFile(t, cfgPath, []byte(config), 0o600)
	c.WriteFile(t, "/root/cloudkeep-secret", []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "mkdir", "-p", "/srv/photos")

	out := c.Run(t, "cloudkeep", "service", "install", "--config", cfgPath)
	if want := "cloudkeep service: it reads " + cfgPath; !strings.Contains(out, want) {
		t.Errorf("service install: want %q in:\n%s", want, out)
	}
	if got := len(rcLinks(c)); got != 7 {
		t.Errorf("after install: %d rc links, want 7 (S50 in rc2-5, K02 in rc0, rc1, rc6)", got)
	}
	script := c.Run(t, "cat", "/etc/init.d/cloudkeep")
	if !strings.Contains(script, "\n/usr/local/bin/cloudkeep\nrun\n--config\n"+cfgPath+"\nEND_OF_COMMAND") {
		t.Errorf("/etc/init.d/cloudkeep does not run /usr/local/bin/cloudkeep run --config %q:\n%s", cfgPath, script)
	}

	out, code := exitCode(c, "cloudkeep", "service", "start", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "cloudkeep service: running, answering on /var/lib/cloudkeep/control.sock") {
		t.Fatalf("service start: exit %d, want 0 and running:\n%s\nlog:\n%s", code, out, catLog(c))
	}
	photo := randomFile(jpegHeader, 200<<10, 7)
	c.WriteFile(t, "/srv/photos/sea.jpg", photo, 0o644)
	assertStored(t, s, "alice/box/photos/sea.jpg", photo)
	if out := c.Run(t, "cloudkeep", "service", "status", "--config", cfgPath); !strings.HasPrefix(out, "service: running\n") {
		t.Errorf("service status while running:\n%s", out)
	}

	// The init script by hand.
	if out := c.Run(t, "/etc/init.d/cloudkeep", "status"); out != "Running\n" {
		t.Errorf("/etc/init.d/cloudkeep status: %q, want Running", out)
	}
	c.Run(t, "/etc/init.d/cloudkeep", "stop")
	if out, code := exitCode(c, "/etc/init.d/cloudkeep", "status"); out != "Stopped\n" || code != 3 {
		t.Errorf("/etc/init.d/cloudkeep status after stop: %q, exit %d; want Stopped, exit 3", out, code)
	}
	if out := c.Run(t, "cloudkeep", "service", "status", "--config", cfgPath); out != "service: stopped\n" {
		t.Errorf("service status after stop: %q, want %q", out, "service: stopped\n")
	}
	c.Run(t, "/etc/init.d/cloudkeep", "start")
	var last string
	for deadline := time.Now().Add(30 * time.Second); !strings.HasPrefix(last, "service: running\n"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after /etc/init.d/cloudkeep start, service status says:\n%s\nlog:\n%s", last, catLog(c))
		}
		last, _ = c.Exec("cloudkeep", "service", "status", "--config", cfgPath)
	}
	c.Run(t, "cloudkeep", "service", "stop", "--config", cfgPath)

	// A broken config: start refuses, naming file and line, and starts nothing.
	broken := strings.Replace(config, "settle: 200ms", "settle: soon", 1)
	line := 1 + strings.Count(broken[:strings.Index(broken, "settle: soon")], "\n")
	c.WriteFile(t, cfgPath, []byte(broken), 0o600)
	out, code = exitCode(c, "cloudkeep", "service", "start", "--config", cfgPath)
	if want := fmt.Sprintf("%s:%d: settle", cfgPath, line); code != 1 || !strings.Contains(out, want) {
		t.Errorf("service start on a broken config: exit %d, want 1 and %q in:\n%s", code, want, out)
	}
	if out, _ := exitCode(c, "/etc/init.d/cloudkeep", "status"); out != "Stopped\n" {
		t.Errorf("a broken config started the agent: %s", out)
	}

	// A config that loads, but the agent stops at once: start prints why.
	c.WriteFile(t, cfgPath, []byte(agentConfig(s, "no-such-bucket", "/srv/photos", "/var/lib/cloudkeep", "~/cloudkeep-secret")), 0o600)
	out, code = exitCode(c, "cloudkeep", "service", "start", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "cloudkeep: service start: the agent stopped: ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("service start, no bucket: exit %d, want 1 and the agent's error:\n%s", code, out)
	}
	out, code = exitCode(c, "cloudkeep", "service", "status", "--config", cfgPath)
	if code != 1 || !strings.HasPrefix(out, "service: failed: ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("service status after a failed start: exit %d, want 1 and failed with the error:\n%s", code, out)
	}

	// Uninstall stops a running service and leaves nothing behind.
	c.WriteFile(t, cfgPath, []byte(config), 0o600)
	c.Run(t, "cloudkeep", "service", "start", "--config", cfgPath)
	c.Run(t, "cloudkeep", "service", "uninstall", "--config", cfgPath)
	if running(c) {
		t.Error("the agent still runs after uninstall")
	}
	if links := rcLinks(c); len(links) > 0 {
		t.Errorf("uninstall left %v", links)
	}
	if _, err := os.Stat(filepath.Join(c.Root(), "etc/init.d/cloudkeep")); err == nil {
		t.Error("uninstall left /etc/init.d/cloudkeep")
	}
	if out := c.Run(t, "cloudkeep", "service", "status", "--config", cfgPath); out != "service: not installed\n" {
		t.Errorf("service status after uninstall: %q", out)
	}
	t.Logf("System V service test: %v", time.Since(began).Round(time.Millisecond))
}

// running reports whether a cloudkeep process runs in c.
func running(c *nspawntest.Container) bool {
	out, _ := c.Exec("sh", "-c", "cat /proc/[0-9]*/comm")
	return strings.Contains(out, "cloudkeep\n")
}

func catLog(c *nspawntest.Container) string {
	out, _ := c.Exec("tail", "-n", "20", "/var/log/cloudkeep.log")
	return out
}

// `cloudkeep service --user` under a real systemd, as a user sets it up:
// a lingering user with ~/.config/cloudkeep/config.yaml installs the user
// unit without --config, starts it, backs up a photo from ~/Pictures, asks
// its status, and uninstalls it.
func TestService_UserUnit(t *testing.T) {
	began := time.Now()
	c := nspawntest.Boot(t)
	s := miniotest.Start(t)
	installBinary(t, c)
	c.Run(t, "useradd", "-m", "-s", "/bin/sh", "alice")
	uid := strings.TrimSpace(c.Run(t, "id", "-u", "alice"))
	c.Run(t, "loginctl", "enable-linger", "alice")
	waitFor(t, "alice's user manager", func() bool {
		_, err := c.Exec("test", "-S", "/run/user/"+uid+"/systemd/private")
		return err == nil
	})
	home := "/home/alice"
	cfg := home + "/.config/cloudkeep/config.yaml"
	as := func(args ...string) (string, int) {
		return exitCode(c, append([]string{"runuser", "-u", "alice", "--", "env", "HOME=" + home, "XDG_RUNTIME_DIR=/run/user/" + uid}, args...)...)
	}
	c.WriteFile(t, cfg, []byte(agentConfig(s, s.Bucket, "~/Pictures", "~/.local/state/cloudkeep", "~/.config/cloudkeep/secret")), 0o600)
	c.WriteFile(t, home+"/.config/cloudkeep/secret", []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "mkdir", "-p", home+"/Pictures")
	c.Run(t, "chown", "-R", "alice:alice", home)

	out, code := as("cloudkeep", "service", "install", "--user")
	if want := "cloudkeep service: it reads " + cfg; code != 0 || !strings.Contains(out, want) {
		t.Fatalf("service install --user: exit %d, want 0 and %q in:\n%s", code, want, out)
	}
	out, code = as("cloudkeep", "service", "start", "--user")
	if code != 0 || !strings.Contains(out, "cloudkeep service: running") {
		t.Fatalf("service start --user: exit %d, want 0 and running:\n%s", code, out)
	}
	if out, _ := as("systemctl", "--user", "is-active", "cloudkeep"); out != "active\n" {
		t.Errorf("systemctl --user is-active cloudkeep: %q, want active", out)
	}
	if out, _ := as("systemctl", "--user", "is-enabled", "cloudkeep"); out != "enabled\n" {
		t.Errorf("systemctl --user is-enabled cloudkeep: %q, want enabled (started at login)", out)
	}
	photo := randomFile(jpegHeader, 200<<10, 8)
	c.WriteFile(t, home+"/Pictures/cat.jpg", photo, 0o644)
	assertStored(t, s, "alice/box/photos/cat.jpg", photo)
	if out, code := as("cloudkeep", "service", "status", "--user"); code != 0 || !strings.HasPrefix(out, "service: running\n") {
		t.Errorf("service status --user: exit %d:\n%s", code, out)
	}

	if out, code := as("cloudkeep", "service", "uninstall", "--user"); code != 0 {
		t.Errorf("service uninstall --user: exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(c.Root(), home, ".config/systemd/user/cloudkeep.service")); err == nil {
		t.Error("uninstall left ~/.config/systemd/user/cloudkeep.service")
	}
	if out, _ := as("systemctl", "--user", "is-active", "cloudkeep"); out != "inactive\n" {
		t.Errorf("after uninstall: systemctl --user is-active cloudkeep: %q, want inactive", out)
	}
	if out, _ := as("cloudkeep", "service", "status", "--user"); out != "service: not installed\n" {
		t.Errorf("service status --user after uninstall: %q", out)
	}
	t.Logf("user unit test: %v", time.Since(began).Round(time.Millisecond))
}
