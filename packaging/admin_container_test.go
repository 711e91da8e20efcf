package packaging_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
)

// The .deb under a real systemd against what administrators do that the
// package must survive: a cloudkeep group made first, a root `cloudkeep
// status` before the first start, a root-owned journal, a broken config, a
// watched folder in /tmp, a deleted unused config, drop-ins, purge. The
// subtests run in order, each on what the previous ones left.
func TestDeb_AdministratorMistakes(t *testing.T) {
	c := nspawntest.Boot(t)
	s := miniotest.Start(t)
	for v, dst := range map[string]string{"0.1.0": "/root/old.deb", "0.2.0": "/root/new.deb"} {
		data, err := os.ReadFile(debFor(t, v))
		if err != nil {
			t.Fatal(err)
		}
		c.WriteFile(t, dst, data, 0o644)
	}
	var config string
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"existing group", func(t *testing.T) { testExistingGroup(t, c) }},
		{"status before the first start", func(t *testing.T) { config = testStatusBeforeStart(t, c, s) }},
		{"root-owned journal", func(t *testing.T) { testRootOwnedJournal(t, c) }},
		{"broken config fails once", func(t *testing.T) { testBrokenConfigFailsOnce(t, c, config) }},
		{"stop timeout", func(t *testing.T) { testStopTimeout(t, c) }},
		{"watched folder in /tmp", func(t *testing.T) { testPrivateTmp(t, c, config) }},
		{"deleted unused config", func(t *testing.T) { testDeletedConffile(t, c) }},
		{"reinstall after remove", func(t *testing.T) { testReinstallAfterRemove(t, c) }},
		{"purge takes the drop-ins", func(t *testing.T) { testPurgeDropIns(t, c) }},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.fn) {
			t.Fatalf("%s failed: the later steps build on it", step.name)
		}
	}
}

// testExistingGroup: a cloudkeep group the administrator made first
// becomes the cloudkeep user's.
func testExistingGroup(t *testing.T, c *nspawntest.Container) {
	c.Run(t, "groupadd", "--system", "cloudkeep")
	gid := strings.Split(strings.TrimSpace(c.Run(t, "getent", "group", "cloudkeep")), ":")[2]
	if out, code := exitCode(c, "dpkg", "-i", "/root/old.deb"); code != 0 {
		t.Fatalf("dpkg -i with a cloudkeep group already there: exit %d\n%s", code, out)
	}
	if got := strings.TrimSpace(c.Run(t, "id", "-g", "cloudkeep")); got != gid {
		t.Errorf("id -g cloudkeep: got %s, want the existing group's %s", got, gid)
	}
}

// testStatusBeforeStart: a root `cloudkeep status` before the service's
// first start says there is no journal and leaves the state directory
// empty; the service then starts. It returns the config.
func testStatusBeforeStart(t *testing.T, c *nspawntest.Container, s *miniotest.Server) string {
	config := fillConfig(t, c.Run(t, "cat", unitConfig), s)
	writeConfig(t, c, config)
	c.WriteFile(t, "/etc/cloudkeep/secret_key", []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "chown", "cloudkeep:cloudkeep", "/etc/cloudkeep/secret_key")
	c.Run(t, "mkdir", "-p", "/srv/photos")

	out := c.Run(t, "cloudkeep", "status")
	want := "agent: not running (start it with `cloudkeep run` or `cloudkeep service start`)\n" +
		"journal: none yet in /var/lib/cloudkeep (the agent has not run with this state_dir)\n"
	if out != want {
		t.Errorf("cloudkeep status as root before the first start:\ngot  %q\nwant %q", out, want)
	}
	if got := c.Run(t, "ls", "-A", "/var/lib/cloudkeep"); got != "" {
		t.Errorf("/var/lib/cloudkeep after the root status holds:\n%s", got)
	}
	c.Run(t, "systemctl", "enable", "--now", "cloudkeep")
	if got := show(t, c, "ActiveState", "NRestarts"); got["ActiveState"] != "active" || got["NRestarts"] != "0" {
		t.Errorf("after the root status, enable --now: %v, want active, no restart", got)
	}
	return config
}

// testRootOwnedJournal: a journal root owns stops the agent with the fix
// in the unit's journal; the package's configure (an upgrade) repairs the
// owners.
func testRootOwnedJournal(t *testing.T, c *nspawntest.Container) {
	c.Run(t, "systemctl", "stop", "cloudkeep")
	c.Run(t, "chown", "root:root", "/var/lib/cloudkeep/journal.db")
	if out, err := c.Exec("systemctl", "start", "cloudkeep"); err == nil {
		t.Errorf("systemctl start with a root-owned journal: succeeded\n%s", out)
	}
	want := "open journal /var/lib/cloudkeep/journal.db: /var/lib/cloudkeep/journal.db is owned by root and cloudkeep, " +
		"the user this runs as, cannot write it: run `chown -R cloudkeep: /var/lib/cloudkeep`"
	if j := c.Journal(t, "cloudkeep"); !strings.Contains(j, want) {
		t.Errorf("journalctl -u cloudkeep: want %q in:\n%s", want, j)
	}
	c.Run(t, "systemctl", "stop", "cloudkeep") // the restart pending
	c.Run(t, "dpkg", "-i", "/root/new.deb")
	if got := c.Run(t, "find", "/var/lib/cloudkeep", "!", "-user", "cloudkeep"); got != "" {
		t.Errorf("after the upgrade, files cloudkeep does not own:\n%s", got)
	}
	c.Run(t, "systemctl", "start", "cloudkeep")
	if got := unitState(c, "is-active"); got != "active" {
		t.Errorf("after the upgrade: is-active %q, want active", got)
	}
}

// testBrokenConfigFailsOnce: a config error (exit 2) fails the unit once
// instead of restarting it every 10 s.
func testBrokenConfigFailsOnce(t *testing.T, c *nspawntest.Container, config string) {
	writeConfig(t, c, strings.Replace(config, "  bucket: ", "  bukcet: ", 1))
	if out, err := c.Exec("systemctl", "restart", "cloudkeep"); err == nil {
		t.Errorf("systemctl restart with a broken config: succeeded\n%s", out)
	}
	got := show(t, c, "ActiveState", "SubState", "Result", "ExecMainStatus", "NRestarts")
	want := map[string]string{"ActiveState": "failed", "SubState": "failed", "Result": "exit-code", "ExecMainStatus": "2", "NRestarts": "0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after a start with a broken config: %s=%s, want %s", k, got[k], v)
		}
	}
	if got := unitState(c, "is-failed"); got != "failed" {
		t.Errorf("systemctl is-failed: %q, want failed", got)
	}
	writeConfig(t, c, config)
	c.Run(t, "systemctl", "restart", "cloudkeep")
}

// testStopTimeout: systemd waits for a stop longer than the longest
// shutdown_grace the config accepts (2m).
func testStopTimeout(t *testing.T, c *nspawntest.Container) {
	if got := show(t, c, "TimeoutStopUSec")["TimeoutStopUSec"]; got != "3min" {
		t.Errorf("TimeoutStopUSec: %q, want 3min", got)
	}
}

// testPrivateTmp: a watched folder in /tmp is the service's private one:
// config check warns, the running agent's status says why.
func testPrivateTmp(t *testing.T, c *nspawntest.Container, config string) {
	const photos = "watch:\n  - path: /srv/photos\n    name: photos"
	withTmp := strings.Replace(config, photos, photos+"\n  - path: /tmp/photos\n    name: tmpphotos", 1)
	c.Run(t, "mkdir", "-p", "/tmp/photos")
	writeConfig(t, c, withTmp)
	out := c.Run(t, "runuser", "-u", "cloudkeep", "--", "cloudkeep", "config", "check", "--config", unitConfig)
	if want := `watch[1].path: "/tmp/photos" is under /tmp, which is private to the cloudkeep service (PrivateTmp=yes): the service never sees this folder: watch another folder`; !strings.Contains(out, want) {
		t.Errorf("config check: want %q in:\n%s", want, out)
	}
	c.Run(t, "systemctl", "restart", "cloudkeep")
	out = c.Run(t, "cloudkeep", "status")
	if want := "tmpphotos    /tmp/photos  not visible: /tmp is private to the service (PrivateTmp=yes): watch another folder"; !strings.Contains(out, want) {
		t.Errorf("cloudkeep status: want %q in:\n%s", want, out)
	}
	if j := c.Journal(t, "cloudkeep"); !strings.Contains(j, "/tmp is private to the service (PrivateTmp=yes): watch another folder") {
		t.Errorf("journalctl -u cloudkeep says nothing of PrivateTmp:\n%s", j)
	}
	writeConfig(t, c, config)
	c.Run(t, "systemctl", "restart", "cloudkeep")
}

// testDeletedConffile: an upgrade after the administrator deleted a config
// the machine does not use (dpkg keeps it deleted) configures.
func testDeletedConffile(t *testing.T, c *nspawntest.Container) {
	c.Run(t, "rm", "/etc/cloudkeep/account.yaml")
	if out, code := exitCode(c, "dpkg", "-i", "/root/old.deb"); code != 0 {
		t.Errorf("dpkg -i without account.yaml: exit %d\n%s", code, out)
	}
	if got := c.Run(t, "dpkg-query", "-W", "-f", "${Status}", "cloudkeep"); got != "install ok installed" {
		t.Errorf("dpkg-query status: %q, want install ok installed", got)
	}
	if out, err := c.Exec("test", "-e", "/etc/cloudkeep/account.yaml"); err == nil {
		t.Errorf("the upgrade brought back the deleted account.yaml %s", out)
	}
}

// testReinstallAfterRemove: installing the package again after a remove
// (its config kept) starts the service that is enabled, as a boot would.
func testReinstallAfterRemove(t *testing.T, c *nspawntest.Container) {
	if got := unitState(c, "is-active"); got != "active" {
		t.Fatalf("before the remove: is-active %q, want active", got)
	}
	c.Run(t, "dpkg", "-r", "cloudkeep")
	if got := unitState(c, "is-active"); got != "inactive" {
		t.Errorf("after dpkg -r: is-active %q, want inactive", got)
	}
	c.Run(t, "dpkg", "-i", "/root/new.deb")
	if got := unitState(c, "is-enabled") + " " + unitState(c, "is-active"); got != "enabled active" {
		t.Errorf("after dpkg -i again: %s, want enabled active", got)
	}
}

// testPurgeDropIns: purge removes the administrator's drop-ins too; a
// later install does not bring them back.
func testPurgeDropIns(t *testing.T, c *nspawntest.Container) {
	for _, unit := range []string{"cloudkeep", "cloudkeep-accounts"} {
		c.WriteFile(t, "/etc/systemd/system/"+unit+".service.d/override.conf",
			[]byte("[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"), 0o644)
	}
	c.Run(t, "systemctl", "daemon-reload")
	c.Run(t, "dpkg", "--purge", "cloudkeep")
	if out := c.Run(t, "find", "/etc/systemd", "-name", "cloudkeep*"); out != "" {
		t.Errorf("purge left:\n%s", out)
	}
	c.Run(t, "dpkg", "-i", "/root/new.deb")
	if out := c.Run(t, "systemctl", "cat", "cloudkeep-accounts"); strings.Contains(out, "override.conf") {
		t.Errorf("the install after the purge brought back the old drop-in:\n%s", out)
	}
	c.Run(t, "dpkg", "--purge", "cloudkeep")
}

// On a System V machine, removing the package removes the service
// `cloudkeep service install` wrote, and stops its agent, while the binary
// is still there.
func TestDeb_RemoveSysVService(t *testing.T) {
	c := nspawntest.Plain(t)
	s := miniotest.Start(t)
	data, err := os.ReadFile(debFor(t, "0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, "/root/cloudkeep.deb", data, 0o644)
	c.Run(t, "dpkg", "-i", "/root/cloudkeep.deb")
	writeConfig(t, c, fillConfig(t, c.Run(t, "cat", unitConfig), s))
	c.WriteFile(t, "/etc/cloudkeep/secret_key", []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "chown", "cloudkeep:cloudkeep", "/etc/cloudkeep/secret_key")
	c.Run(t, "mkdir", "-p", "/srv/photos")
	c.Run(t, "cloudkeep", "service", "install")
	c.Run(t, "cloudkeep", "service", "start")
	if agents := agentProcesses(t, c); len(agents) != 1 {
		t.Fatalf("after service start: agents %q, want one", agents)
	}

	out := c.Run(t, "dpkg", "-r", "cloudkeep")
	if agents := agentProcesses(t, c); len(agents) != 0 {
		t.Errorf("after dpkg -r: agents still running %q\n%s", agents, out)
	}
	if out, err := c.Exec("test", "-e", "/etc/init.d/cloudkeep"); err == nil {
		t.Errorf("dpkg -r left /etc/init.d/cloudkeep %s", out)
	}
	if links := rcLinks(c); len(links) != 0 {
		t.Errorf("dpkg -r left the rc links %v", links)
	}
	c.Run(t, "dpkg", "--purge", "cloudkeep")
}

// agentProcesses lists the command lines of the running cloudkeep agents.
func agentProcesses(t *testing.T, c *nspawntest.Container) []string {
	t.Helper()
	out := c.Run(t, "sh", "-c", `for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null; echo; done`)
	var agents []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "cloudkeep run") {
			agents = append(agents, strings.TrimSpace(line))
		}
	}
	return agents
}
