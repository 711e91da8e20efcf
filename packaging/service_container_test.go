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

// makeUser is the command `service install` gives for the missing user.
const makeUser = "useradd --system --user-group --home-dir /var/lib/cloudkeep --shell /usr/sbin/nologin cloudkeep"

// Where the system service tests keep the agent's config and its secret:
// a directory whose name holds a space.
const (
	cfgPath = "/etc/cloud keep/config.yaml"
	keyPath = "/etc/cloud keep/secret"
)

// systemAgent installs the release binary in c, and a config at cfgPath
// that backs /srv/photos up to s with its secret at keyPath, both root's
// alone. It returns the config and the `cloudkeep service install` command
// for it.
func systemAgent(t *testing.T, c *nspawntest.Container, s *miniotest.Server) (config string, install []string) {
	t.Helper()
	installBinary(t, c)
	config = agentConfig(s, s.Bucket, "/srv/photos", "/var/lib/cloudkeep", keyPath)
	c.WriteFile(t, cfgPath, []byte(config), 0o600)
	c.WriteFile(t, keyPath, []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "mkdir", "-p", "/srv/photos")
	return config, []string{"cloudkeep", "service", "install", "--config", cfgPath}
}

// writeAgentFile writes a file the agent reads as root:cloudkeep 0640.
func writeAgentFile(t *testing.T, c *nspawntest.Container, path, data string) {
	t.Helper()
	c.WriteFile(t, path, []byte(data), 0o640)
	c.Run(t, "chgrp", "cloudkeep", path)
}

// `cloudkeep service` on a System V machine (no init system running: the
// commands go through `service` and /etc/init.d), as an administrator
// uses it: install the release binary; install refuses until the cloudkeep
// user exists and can read the config and its secret; install the service
// with a config path holding a space, start it and ask its status without
// --config, back up as the cloudkeep user, drive the init script directly,
// see a killed agent reported as failed, fail to start on a broken config,
// on a missing bucket and on a missing binary with the reason printed,
// uninstall without leftovers, and say so when there is nothing to do.
func TestService_SystemV(t *testing.T) {
	began := time.Now()
	c := nspawntest.Plain(t)
	s := miniotest.Start(t)
	config, install := systemAgent(t, c, s)

	// No cloudkeep user: install refuses and gives the commands.
	out, code := exitCode(c, install...)
	if code != 2 || !strings.Contains(out, "`"+makeUser+"`") || !strings.Contains(out, "`install -d -m 0700 -o cloudkeep -g cloudkeep /var/lib/cloudkeep`") {
		t.Errorf("service install without the cloudkeep user: exit %d, want 2 and %q in:\n%s", code, makeUser, out)
	}
	c.Run(t, "sh", "-c", makeUser+" && install -d -m 0700 -o cloudkeep -g cloudkeep /var/lib/cloudkeep")
	// The config is root's alone: install refuses, naming it.
	out, code = exitCode(c, install...)
	if code != 2 || !strings.Contains(out, "as cloudkeep the config check fails") || !strings.Contains(out, cfgPath) {
		t.Errorf("service install, config unreadable by cloudkeep: exit %d, want 2 and the file in:\n%s", code, out)
	}
	writeAgentFile(t, c, cfgPath, config)
	out, code = exitCode(c, install...)
	if code != 2 || !strings.Contains(out, keyPath) {
		t.Errorf("service install, secret unreadable by cloudkeep: exit %d, want 2 and %s in:\n%s", code, keyPath, out)
	}
	c.Run(t, "chown", "cloudkeep", keyPath)

	out = c.Run(t, install...)
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
	if !strings.HasPrefix(script, "#!/bin/sh\n# Written by cloudkeep service install\n") {
		t.Errorf("/etc/init.d/cloudkeep lacks the marker line:\n%s", script)
	}
	if out, code := exitCode(c, install...); code != 0 || !strings.HasPrefix(out, "cloudkeep service: already installed") {
		t.Errorf("service install again: exit %d, want 0 and already installed:\n%s", code, out)
	}

	// Start and status without --config use the installed config.
	out, code = exitCode(c, "cloudkeep", "service", "start")
	if code != 0 || !strings.Contains(out, "cloudkeep service: running, answering on /var/lib/cloudkeep/control.sock") {
		t.Fatalf("service start: exit %d, want 0 and running:\n%s\nlog:\n%s", code, out, catLog(c))
	}
	photo := randomFile(jpegHeader, 200<<10, 7)
	c.WriteFile(t, "/srv/photos/sea.jpg", photo, 0o644)
	assertStored(t, s, "alice/box/photos/sea.jpg", photo)
	if out := c.Run(t, "cloudkeep", "service", "status"); !strings.HasPrefix(out, "service: running\n") {
		t.Errorf("service status while running:\n%s", out)
	}
	pid := strings.TrimSpace(c.Run(t, "cat", "/var/run/cloudkeep.pid"))
	if got := c.Run(t, "stat", "-c", "%U", "/proc/"+pid, "/var/lib/cloudkeep/journal.db"); got != "cloudkeep\ncloudkeep\n" {
		t.Errorf("owners of the agent's process and journal.db: %q, want cloudkeep for both", got)
	}

	// The init script by hand.
	if out := c.Run(t, "/etc/init.d/cloudkeep", "status"); out != "Running\n" {
		t.Errorf("/etc/init.d/cloudkeep status: %q, want Running", out)
	}
	c.Run(t, "/etc/init.d/cloudkeep", "stop")
	if out, code := exitCode(c, "/etc/init.d/cloudkeep", "status"); out != "Stopped\n" || code != 3 {
		t.Errorf("/etc/init.d/cloudkeep status after stop: %q, exit %d; want Stopped, exit 3", out, code)
	}
	if out := c.Run(t, "cloudkeep", "service", "status"); out != "service: stopped\n" {
		t.Errorf("service status after stop: %q, want %q", out, "service: stopped\n")
	}
	if out := c.Run(t, "/etc/init.d/cloudkeep", "start"); out != "Started\n" {
		t.Errorf("/etc/init.d/cloudkeep start: %q, want Started", out)
	}
	var last string
	for deadline := time.Now().Add(30 * time.Second); !strings.HasPrefix(last, "service: running\n"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after /etc/init.d/cloudkeep start, service status says:\n%s\nlog:\n%s", last, catLog(c))
		}
		last, _ = c.Exec("cloudkeep", "service", "status")
	}

	// kill -9: the PID file outlives the agent, and status says so.
	pid = strings.TrimSpace(c.Run(t, "cat", "/var/run/cloudkeep.pid"))
	c.Run(t, "sh", "-c", "kill -9 "+pid)
	want := "service: failed: the agent is not running (pid " + pid + " gone)\n"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, code = exitCode(c, "cloudkeep", "service", "status"); strings.HasPrefix(out, want) && code == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("service status after kill -9: %q, exit %d; want %q, exit 1", out, code, want)
			break
		}
	}
	if out, code := exitCode(c, "/etc/init.d/cloudkeep", "status"); code != 1 || out != "Failed: the agent is not running (pid "+pid+" gone)\n" {
		t.Errorf("/etc/init.d/cloudkeep status after kill -9: %q, exit %d; want Failed and exit 1", out, code)
	}
	c.Run(t, "cloudkeep", "service", "stop")

	// A broken config: start refuses, naming file and line, and starts nothing.
	broken := strings.Replace(config, "settle: 200ms", "settle: soon", 1)
	line := 1 + strings.Count(broken[:strings.Index(broken, "settle: soon")], "\n")
	writeAgentFile(t, c, cfgPath, broken)
	out, code = exitCode(c, "cloudkeep", "service", "start")
	if want := fmt.Sprintf("%s:%d: settle", cfgPath, line); code != 1 || !strings.Contains(out, want) {
		t.Errorf("service start on a broken config: exit %d, want 1 and %q in:\n%s", code, want, out)
	}
	if out, _ := exitCode(c, "/etc/init.d/cloudkeep", "status"); out != "Stopped\n" {
		t.Errorf("a broken config started the agent: %s", out)
	}

	// A config that loads, but the agent stops at once: start prints why,
	// and so do service status and cloudkeep status.
	writeAgentFile(t, c, cfgPath, agentConfig(s, "no-such-bucket", "/srv/photos", "/var/lib/cloudkeep", keyPath))
	out, code = exitCode(c, "cloudkeep", "service", "start")
	if code != 1 || !strings.Contains(out, "cloudkeep: service start: ") || !strings.Contains(out, "the agent stopped: ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("service start, no bucket: exit %d, want 1 and the agent's error:\n%s", code, out)
	}
	out, code = exitCode(c, "cloudkeep", "service", "status")
	if code != 1 || !strings.HasPrefix(out, "service: failed: ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("service status after a failed start: exit %d, want 1 and failed with the error:\n%s", code, out)
	}
	out = c.Run(t, "cloudkeep", "status", "--config", cfgPath)
	if !strings.Contains(out, "agent: not running") || !strings.Contains(out, "\nit stopped on an error at ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("cloudkeep status after a failed start does not say why:\n%s", out)
	}

	// The binary is gone: the init script says so and starts nothing.
	writeAgentFile(t, c, cfgPath, config)
	c.Run(t, "mv", "/usr/local/bin/cloudkeep", "/usr/local/bin/cloudkeep.away")
	if out, code := exitCode(c, "/etc/init.d/cloudkeep", "start"); code != 5 || out != "Not started: /usr/local/bin/cloudkeep does not exist or is not executable\n" {
		t.Errorf("/etc/init.d/cloudkeep start without the binary: %q, exit %d; want Not started and exit 5", out, code)
	}
	c.Run(t, "mv", "/usr/local/bin/cloudkeep.away", "/usr/local/bin/cloudkeep")

	// Uninstall stops a running service and leaves nothing behind.
	c.Run(t, "cloudkeep", "service", "start")
	c.Run(t, "cloudkeep", "service", "uninstall")
	if running(c) {
		t.Error("the agent still runs after uninstall")
	}
	if links := rcLinks(c); len(links) > 0 {
		t.Errorf("uninstall left %v", links)
	}
	if _, err := os.Stat(filepath.Join(c.Root(), "etc/init.d/cloudkeep")); err == nil {
		t.Error("uninstall left /etc/init.d/cloudkeep")
	}
	for _, tc := range []struct {
		action, want string
		code         int
	}{
		{"status", "service: not installed\n", 0},
		{"uninstall", "cloudkeep service: not installed, nothing to uninstall\n", 0},
		{"stop", "cloudkeep service: not installed, nothing to stop\n", 0},
		{"start", "cloudkeep: service start: not installed: install it first with `cloudkeep service install`\n", 2},
	} {
		if out, code := exitCode(c, "cloudkeep", "service", tc.action, "--config", cfgPath); out != tc.want || code != tc.code {
			t.Errorf("service %s when not installed: %q, exit %d; want %q, exit %d", tc.action, out, code, tc.want, tc.code)
		}
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

// `cloudkeep service` for the system under a real systemd, without the
// package: install refuses until the cloudkeep user exists and can read the
// config and its secret; the unit runs the agent as cloudkeep; start and
// status without --config use the installed config; a killed agent and a
// unit systemd cannot start (status=217/USER) are reported as failed with
// the reason; with the package's unit present, install and uninstall
// refuse and leave it enabled.
func TestService_SystemdSystem(t *testing.T) {
	began := time.Now()
	c := nspawntest.Boot(t)
	s := miniotest.Start(t)
	config, install := systemAgent(t, c, s)

	out, code := exitCode(c, install...)
	if code != 2 || !strings.Contains(out, "`"+makeUser+"`") {
		t.Errorf("service install without the cloudkeep user: exit %d, want 2 and %q in:\n%s", code, makeUser, out)
	}
	c.Run(t, "sh", "-c", makeUser)
	out, code = exitCode(c, install...)
	if code != 2 || !strings.Contains(out, "as cloudkeep the config check fails") || !strings.Contains(out, cfgPath) {
		t.Errorf("service install, config unreadable by cloudkeep: exit %d, want 2 and the file in:\n%s", code, out)
	}
	writeAgentFile(t, c, cfgPath, config)
	c.Run(t, "chown", "cloudkeep", keyPath)
	if out := c.Run(t, install...); !strings.Contains(out, "cloudkeep service: it reads "+cfgPath) {
		t.Errorf("service install: want the config path in:\n%s", out)
	}
	unit := c.Run(t, "cat", "/etc/systemd/system/cloudkeep.service")
	if !strings.HasPrefix(unit, "# Written by cloudkeep service install\n") || !strings.Contains(unit, "\nUser=cloudkeep\n") {
		t.Errorf("the unit lacks the marker or User=cloudkeep:\n%s", unit)
	}
	if out, code := exitCode(c, install...); code != 0 || !strings.HasPrefix(out, "cloudkeep service: already installed") {
		t.Errorf("service install again: exit %d, want 0 and already installed:\n%s", code, out)
	}

	out, code = exitCode(c, "cloudkeep", "service", "start")
	if code != 0 || !strings.Contains(out, "cloudkeep service: running, answering on /var/lib/cloudkeep/control.sock") {
		t.Fatalf("service start: exit %d, want 0 and running:\n%s\njournal:\n%s", code, out, c.Journal(t, "cloudkeep"))
	}
	photo := randomFile(jpegHeader, 200<<10, 9)
	c.WriteFile(t, "/srv/photos/dune.jpg", photo, 0o644)
	assertStored(t, s, "alice/box/photos/dune.jpg", photo)
	if out := c.Run(t, "cloudkeep", "service", "status"); !strings.HasPrefix(out, "service: running\n") {
		t.Errorf("service status while running:\n%s", out)
	}
	pid := strings.TrimSpace(c.Run(t, "systemctl", "show", "-p", "MainPID", "--value", "cloudkeep"))
	if got := c.Run(t, "stat", "-c", "%U", "/proc/"+pid, "/var/lib/cloudkeep/journal.db"); got != "cloudkeep\ncloudkeep\n" {
		t.Errorf("owners of the agent's process and journal.db: %q, want cloudkeep for both", got)
	}

	// kill -9: systemd restarts it in 10 s; meanwhile status says it failed.
	c.Run(t, "sh", "-c", "kill -9 "+pid)
	want := "service: failed: the agent was killed by signal KILL; systemd starts it again in a moment"
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, code = exitCode(c, "cloudkeep", "service", "status"); strings.HasPrefix(out, want) && code == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("service status after kill -9: %q, exit %d; want %q…, exit 1", out, code, want)
			break
		}
	}
	c.Run(t, "cloudkeep", "service", "stop")

	// systemd cannot start the unit: start and status say why.
	c.Run(t, "userdel", "cloudkeep")
	out, code = exitCode(c, "cloudkeep", "service", "start")
	if code != 1 || !strings.Contains(out, "systemd could not start the agent: status=217/USER (the user the unit runs as does not exist: `"+makeUser+"` creates it); its last log lines:\n") || !strings.Contains(out, "status=217/USER\n") {
		t.Errorf("service start without the user: exit %d, want 1, status=217/USER and systemd's log in:\n%s", code, out)
	}
	t.Logf("service start without the user:\n%s", out)
	out, code = exitCode(c, "cloudkeep", "service", "status")
	if code != 1 || !strings.HasPrefix(out, "service: failed: systemd could not start the agent: status=217/USER") {
		t.Errorf("service status without the user: exit %d, want 1 and failed, status=217/USER:\n%s", code, out)
	}
	c.Run(t, "cloudkeep", "service", "stop")
	c.Run(t, "cloudkeep", "service", "uninstall")

	// The package's unit: not ours to install over or to remove.
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pkgUnit, err := os.ReadFile(filepath.Join(root, "packaging", "cloudkeep.service"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, "/lib/systemd/system/cloudkeep.service", pkgUnit, 0o644)
	c.Run(t, "systemctl", "daemon-reload")
	c.Run(t, "systemctl", "enable", "cloudkeep")
	out, code = exitCode(c, install...)
	if want := "cloudkeep: service install: the cloudkeep package's unit is installed: use `systemctl enable --now cloudkeep`\n"; code != 2 || out != want {
		t.Errorf("service install over the package: %q, exit %d; want %q, exit 2", out, code, want)
	}
	out, code = exitCode(c, "cloudkeep", "service", "uninstall", "--config", cfgPath)
	if code != 2 || !strings.Contains(out, "the cloudkeep package's unit is installed (/lib/systemd/system/cloudkeep.service)") {
		t.Errorf("service uninstall of the package's unit: exit %d, want 2 and a refusal:\n%s", code, out)
	}
	if out, _ := c.Exec("systemctl", "is-enabled", "cloudkeep"); out != "enabled\n" {
		t.Errorf("after service uninstall, the package's unit is %q, want enabled", out)
	}
	t.Logf("systemd system service test: %v", time.Since(began).Round(time.Millisecond))
}
