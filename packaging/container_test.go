package packaging_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
)

const (
	unitConfig = "/etc/cloudkeep/config.yaml"
	partSize   = 5 << 20
)

// The agent's .deb under a real systemd, as an administrator uses it:
// install, configure, enable, back up, restart mid-upload, break the
// config, upgrade, stop, remove and purge, in one booted container. The
// subtests run in order, each on what the previous ones left.
func TestDeb_SystemdService(t *testing.T) {
	began := time.Now()
	c := nspawntest.Boot(t)
	s := miniotest.Start(t)
	copyDebs(t, c, "0.0.0+a", "0.0.1")
	t.Logf("container, MinIO and packages ready in %v", time.Since(began).Round(time.Millisecond))
	var config string // the config as the administrator filled it in
	runInOrder(t, []step{
		{"install", func(t *testing.T) { testInstall(t, c) }},
		{"enable", func(t *testing.T) { config = testEnable(t, c, s) }},
		{"photo", func(t *testing.T) { testPhoto(t, c, s) }},
		{"restart resumes", func(t *testing.T) { testRestartResumes(t, c, s) }},
		{"broken config", func(t *testing.T) { testBrokenConfig(t, c, config) }},
		{"security", func(t *testing.T) { testSecurity(t, c) }},
		{"upgrade", func(t *testing.T) { testUpgrade(t, c, config) }},
		{"stop", func(t *testing.T) { testStop(t, c) }},
		{"rpm arguments", func(t *testing.T) { testRPMArguments(t, c) }},
		{"remove", func(t *testing.T) { testRemove(t, c, config) }},
		{"purge", func(t *testing.T) { testPurge(t, c) }},
	})
	t.Logf("container test: %v in all", time.Since(began).Round(time.Millisecond))
}

// copyDebs puts the .deb of version oldV at /root/old.deb in c and that of
// newV at /root/new.deb.
func copyDebs(t *testing.T, c *nspawntest.Container, oldV, newV string) {
	t.Helper()
	for v, dst := range map[string]string{oldV: "/root/old.deb", newV: "/root/new.deb"} {
		data, err := os.ReadFile(debFor(t, v))
		if err != nil {
			t.Fatal(err)
		}
		c.WriteFile(t, dst, data, 0o644)
	}
}

// step is one subtest of a test whose subtests build on each other.
type step struct {
	name string
	fn   func(t *testing.T)
}

// runInOrder runs steps as subtests in order and stops at the first that
// fails.
func runInOrder(t *testing.T, steps []step) {
	t.Helper()
	for _, step := range steps {
		if !t.Run(step.name, step.fn) {
			t.Fatalf("%s failed: the later steps build on it", step.name)
		}
	}
}

// testInstall installs the first version: it creates the user, enables and
// starts nothing, and says what to do next.
func testInstall(t *testing.T, c *nspawntest.Container) {
	out := c.Run(t, "dpkg", "-i", "/root/old.deb")
	if want := "edit /etc/cloudkeep/config.yaml, then: systemctl enable --now cloudkeep"; !strings.Contains(out, want) {
		t.Errorf("dpkg -i: want %q in:\n%s", want, out)
	}
	if got := unitState(c, "is-enabled"); got != "disabled" {
		t.Errorf("after install: systemctl is-enabled cloudkeep: got %q, want disabled", got)
	}
	if got := unitState(c, "is-active"); got != "inactive" {
		t.Errorf("after install: systemctl is-active cloudkeep: got %q, want inactive", got)
	}
	c.Run(t, "id", "cloudkeep")
}

// testEnable fills in the packaged config, writes the secret key for the
// cloudkeep user and a watched folder, and enables the service: it is
// active only once it sent READY (Type=notify). It returns the config.
func testEnable(t *testing.T, c *nspawntest.Container, s *miniotest.Server) string {
	config := fillConfig(t, c.Run(t, "cat", unitConfig), s)
	writeConfig(t, c, config)
	c.WriteFile(t, "/etc/cloudkeep/secret_key", []byte(s.SecretKey+"\n"), 0o600)
	c.Run(t, "chown", "cloudkeep:cloudkeep", "/etc/cloudkeep/secret_key")
	c.Run(t, "mkdir", "-p", "/srv/photos")
	c.Run(t, "runuser", "-u", "cloudkeep", "--", "cloudkeep", "config", "check", "--config", unitConfig)

	c.Run(t, "systemctl", "enable", "--now", "cloudkeep")
	got := show(t, c, "Type", "ActiveState", "SubState", "NRestarts", "MainPID")
	want := map[string]string{"Type": "notify", "ActiveState": "active", "SubState": "running", "NRestarts": "0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("systemctl show -p %s: got %q, want %q", k, got[k], v)
		}
	}
	if j := c.Journal(t, "cloudkeep"); !strings.Contains(j, "Started cloudkeep.service") {
		t.Errorf("no Started line in the journal:\n%s", j)
	}
	return config
}

// fillConfig fills in the packaged config for s, as the README tells an
// administrator to; uploads are slowed to 2 MiB/s, one part at a time, so
// that a restart meets a big file mid-upload.
func fillConfig(t *testing.T, packaged string, s *miniotest.Server) string {
	t.Helper()
	edits := []string{
		"  # name: nas          # defaults to the host name", "  name: nas",
		`endpoint: ""`, "endpoint: " + s.Endpoint,
		"secure: true", "secure: false\n  part_size: 5MiB\n  multipart_threshold: 5MiB\n  bandwidth_limit: 2MiB/s\n  concurrency:\n    parts: 1",
		`bucket: ""`, "bucket: " + s.Bucket,
		`user: ""`, "user: alice",
		`access_key: ""`, "access_key: " + s.AccessKey,
		"watch: []", "watch:\n  - path: /srv/photos\n    name: photos",
	}
	for i := 0; i < len(edits); i += 2 {
		if !strings.Contains(packaged, edits[i]) {
			t.Fatalf("the packaged config has no %q", edits[i])
		}
	}
	return strings.NewReplacer(edits...).Replace(packaged) + "shutdown_grace: 2s\n"
}

// writeConfig writes the agent's config as an administrator would: root's,
// readable by the cloudkeep group.
func writeConfig(t *testing.T, c *nspawntest.Container, text string) {
	t.Helper()
	c.WriteFile(t, unitConfig, []byte(text), 0o640)
	c.Run(t, "chgrp", "cloudkeep", unitConfig)
}

// testPhoto drops a photo into the watched folder: it reaches the bucket,
// byte for byte.
func testPhoto(t *testing.T, c *nspawntest.Container, s *miniotest.Server) {
	data := randomFile(jpegHeader, 300<<10, 1)
	c.WriteFile(t, "/srv/photos/2024/beach.jpg", data, 0o644)
	assertStored(t, s, "alice/nas/photos/2024/beach.jpg", data)
}

// testRestartResumes restarts the service while a big file is being
// uploaded: the new process resumes the upload, sends only the parts not
// yet stored, and the object is complete.
func testRestartResumes(t *testing.T, c *nspawntest.Container, s *miniotest.Server) {
	const key = "alice/nas/photos/clip.mp4"
	data := randomFile(mp4Header, 4*partSize, 2)
	c.WriteFile(t, "/srv/clip.mp4", data, 0o644)
	c.Run(t, "mv", "/srv/clip.mp4", "/srv/photos/clip.mp4") // whole at once
	core := minio.Core{Client: s.Client}
	waitFor(t, "a stored part of "+key, func() bool {
		res, err := core.ListMultipartUploads(context.Background(), s.Bucket, key, "", "", "", 10)
		for _, u := range res.Uploads {
			parts, perr := core.ListObjectParts(context.Background(), s.Bucket, key, u.UploadID, 0, 100)
			if err == nil && perr == nil && len(parts.ObjectParts) > 0 {
				return true
			}
		}
		return false
	})
	pid := show(t, c, "MainPID")["MainPID"]
	began := time.Now()
	c.Run(t, "systemctl", "restart", "cloudkeep")
	t.Logf("systemctl restart mid-upload (shutdown_grace 2s): duration_ms=%d", time.Since(began).Milliseconds())
	if now := show(t, c, "MainPID")["MainPID"]; now == pid {
		t.Errorf("MainPID %s unchanged by systemctl restart", now)
	}
	// Stopped mid-upload, the agent gave the part in flight its grace and
	// exited 0.
	j := c.Journal(t, "cloudkeep")
	if !inOrder(j, "stopping: finishing uploads in flight", "agent stopped", "cloudkeep.service: Deactivated successfully.") ||
		strings.Contains(j, "Failed with result") {
		t.Errorf("the stop of the restart was not clean:\n%s", j)
	}
	assertStored(t, s, key, data)

	stored, sent := -1, int64(-1)
	for _, line := range logLines(t, c) {
		switch {
		case line.Message == "resuming upload" && line.Key == key:
			stored = line.PartsStored
		case line.Message == "uploaded" && line.Key == key:
			sent = line.SentBytes
		}
	}
	if stored < 1 {
		t.Fatalf("no \"resuming upload\" of %s with stored parts in the journal:\n%s", key, c.Journal(t, "cloudkeep"))
	}
	if want := int64(len(data) - stored*partSize); sent != want {
		t.Errorf("after the restart %d bytes sent, want %d: the %d stored parts are not sent again", sent, want, stored)
	}
	t.Logf("restart resumed %s: %d of 4 parts stored before, %d bytes sent after", key, stored, sent)
}

// testBrokenConfig: a config error makes systemctl start fail, and the
// unit's journal names the file and the line.
func testBrokenConfig(t *testing.T, c *nspawntest.Container, config string) {
	broken := strings.Replace(config, "bandwidth_limit: 2MiB/s", "bandwidth_limit: fast", 1)
	line := 1 + strings.Count(broken[:strings.Index(broken, "bandwidth_limit: fast")], "\n")
	writeConfig(t, c, broken)
	c.Run(t, "systemctl", "stop", "cloudkeep")
	if out, err := c.Exec("systemctl", "start", "cloudkeep"); err == nil {
		t.Errorf("systemctl start with a broken config: succeeded, want a failure\n%s", out)
	}
	want := fmt.Sprintf("%s:%d: storage.bandwidth_limit", unitConfig, line)
	if j := c.Journal(t, "cloudkeep"); !strings.Contains(j, want) {
		t.Errorf("journalctl -u cloudkeep: want %q in:\n%s", want, j)
	}
	writeConfig(t, c, config)
	c.Run(t, "systemctl", "restart", "cloudkeep")
	if got := unitState(c, "is-active"); got != "active" {
		t.Errorf("with the config repaired: is-active %q, want active", got)
	}
}

// testSecurity: systemd-analyze security, run by the systemd that runs the
// unit, rates its exposure 2.0 or less.
func testSecurity(t *testing.T, c *nspawntest.Container) {
	out, _ := c.Exec("systemd-analyze", "security", "--no-pager", "cloudkeep.service")
	m := regexp.MustCompile(`Overall exposure level for cloudkeep.service: ([0-9.]+) (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security cloudkeep (systemd 252, in the container): %s %s", m[1], m[2])
	if score > 2.0 {
		t.Errorf("exposure %.1f, want 2.0 or less:\n%s", score, out)
	}
}

// testUpgrade installs the newer version over the running one: the service
// runs the new binary, the config and the credentials are the
// administrator's still.
func testUpgrade(t *testing.T, c *nspawntest.Container, config string) {
	pid := show(t, c, "MainPID")["MainPID"]
	c.Run(t, "dpkg", "-i", "/root/new.deb")
	got := show(t, c, "ActiveState", "MainPID")
	if got["ActiveState"] != "active" || got["MainPID"] == pid {
		t.Errorf("after the upgrade: %s, MainPID %s (was %s); want active, restarted", got["ActiveState"], got["MainPID"], pid)
	}
	if out := c.Run(t, "cloudkeep", "version"); !strings.HasPrefix(out, "cloudkeep 0.0.1\n") {
		t.Errorf("cloudkeep version after the upgrade:\n%s", out)
	}
	if got := c.Run(t, "cat", unitConfig); got != config {
		t.Errorf("the upgrade changed %s:\n%s", unitConfig, got)
	}
	if got := c.Run(t, "stat", "-c", "%U:%G %a", "/etc/cloudkeep/secret_key"); got != "cloudkeep:cloudkeep 600\n" {
		t.Errorf("/etc/cloudkeep/secret_key after the upgrade: %s", got)
	}
}

// testStop: systemctl stop ends the agent cleanly (exit 0, well within
// TimeoutStopSec), and the journal still holds what the first version
// backed up.
func testStop(t *testing.T, c *nspawntest.Container) {
	began := time.Now()
	c.Run(t, "systemctl", "stop", "cloudkeep")
	t.Logf("systemctl stop: duration_ms=%d", time.Since(began).Milliseconds())
	got := show(t, c, "Result", "ExecMainCode", "ExecMainStatus")
	// ExecMainCode 1 is CLD_EXITED: the process exited, not killed.
	if got["Result"] != "success" || got["ExecMainCode"] != "1" || got["ExecMainStatus"] != "0" {
		t.Errorf("after systemctl stop: %v, want Result=success ExecMainCode=1 ExecMainStatus=0", got)
	}
	out := c.Run(t, "runuser", "-u", "cloudkeep", "--", "cloudkeep", "status", "--config", unitConfig)
	if !strings.Contains(out, "journal: 2 file(s) backed up") {
		t.Errorf("cloudkeep status after the upgrade: want the 2 files backed up before:\n%s", out)
	}
	c.Run(t, "systemctl", "start", "cloudkeep")
}

// testRPMArguments runs the package's scripts as rpm calls them, with the
// number of versions installed after the step: an upgrade (2) restarts the
// running service, a fresh install (1) does not, the old version's removal
// in an upgrade (1) keeps it running, an erase (0) stops and disables it
// and keeps the data.
func testRPMArguments(t *testing.T, c *nspawntest.Container) {
	script := func(name, arg string) { c.Run(t, "/var/lib/dpkg/info/cloudkeep."+name, arg) }
	pid := show(t, c, "MainPID")["MainPID"]
	script("postinst", "2")
	if now := show(t, c, "MainPID")["MainPID"]; now == pid {
		t.Errorf("postinstall 2 (upgrade) did not restart the service: MainPID %s", now)
	}
	pid = show(t, c, "MainPID")["MainPID"]
	script("postinst", "1")
	script("prerm", "1")
	script("postrm", "1")
	if got := show(t, c, "ActiveState", "MainPID"); got["ActiveState"] != "active" || got["MainPID"] != pid {
		t.Errorf("after postinstall 1, preremove 1 and postremove 1: %v, want active, MainPID %s", got, pid)
	}
	script("prerm", "0")
	script("postrm", "0")
	if active, enabled := unitState(c, "is-active"), unitState(c, "is-enabled"); active != "inactive" || enabled != "disabled" {
		t.Errorf("after preremove 0 (erase): %s, %s; want inactive, disabled", active, enabled)
	}
	if out, err := c.Exec("test", "-s", "/var/lib/cloudkeep/journal.db"); err != nil {
		t.Errorf("postremove 0 (erase) took the journal %s", out)
	}
	c.Run(t, "systemctl", "enable", "--now", "cloudkeep")
}

// testRemove: remove stops the service and keeps the journal, the config
// and the credentials.
func testRemove(t *testing.T, c *nspawntest.Container, config string) {
	c.Run(t, "apt-get", "remove", "-y", "-q", "cloudkeep")
	if got := show(t, c, "ActiveState")["ActiveState"]; got != "inactive" {
		t.Errorf("after remove: ActiveState %q, want inactive", got)
	}
	if out, err := c.Exec("test", "-e", "/usr/bin/cloudkeep"); err == nil {
		t.Errorf("/usr/bin/cloudkeep is still there after remove %s", out)
	}
	for _, path := range []string{"/var/lib/cloudkeep/journal.db", "/etc/cloudkeep/secret_key"} {
		if out, err := c.Exec("test", "-s", path); err != nil {
			t.Errorf("remove took %s %s", path, out)
		}
	}
	if got, _ := c.Exec("cat", unitConfig); got != config {
		t.Errorf("%s after remove:\n%s", unitConfig, got)
	}
}

// testPurge: purge removes everything of the package's, the files the
// administrator made for its user included, but not the watched folder.
func testPurge(t *testing.T, c *nspawntest.Container) {
	c.Run(t, "dpkg", "--purge", "cloudkeep")
	for _, path := range []string{"/var/lib/cloudkeep", "/etc/cloudkeep", "/lib/systemd/system/cloudkeep.service"} {
		if out, err := c.Exec("test", "-e", path); err == nil {
			t.Errorf("purge left %s %s", path, out)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if out, err := c.Exec("getent", db, "cloudkeep"); err == nil {
			t.Errorf("purge left the cloudkeep entry of %s: %s", db, out)
		}
	}
	if out := c.Run(t, "find", "/etc/systemd", "-name", "cloudkeep*"); out != "" {
		t.Errorf("purge left links to the unit:\n%s", out)
	}
	if out := c.Run(t, "find", "/", "/run", "/tmp", "-xdev", "(", "-nouser", "-o", "-nogroup", ")"); out != "" {
		t.Errorf("files owned by no user or group after purge:\n%s", out)
	}
	for _, path := range []string{"/srv/photos/2024/beach.jpg", "/srv/photos/clip.mp4"} {
		if out, err := c.Exec("test", "-s", path); err != nil {
			t.Errorf("purge took the watched file %s %s", path, out)
		}
	}
}

// On a system without systemd the package installs, says how to run the
// agent, and purges clean.
func TestDeb_NoSystemd(t *testing.T) {
	c := nspawntest.Plain(t)
	data, err := os.ReadFile(buildDeb(t))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, "/root/cloudkeep.deb", data, 0o644)
	out := c.Run(t, "dpkg", "-i", "/root/cloudkeep.deb")
	if want := "this system has no systemd: have its init system run cloudkeep run --config /etc/cloudkeep/config.yaml as the cloudkeep user"; !strings.Contains(out, want) {
		t.Errorf("dpkg -i: want %q in:\n%s", want, out)
	}
	if out := c.Run(t, "cloudkeep", "version"); !strings.HasPrefix(out, "cloudkeep 0.1.0\n") {
		t.Errorf("cloudkeep version:\n%s", out)
	}
	c.Run(t, "dpkg", "--purge", "cloudkeep")
	for _, path := range []string{"/var/lib/cloudkeep", "/etc/cloudkeep", "/usr/bin/cloudkeep"} {
		if out, err := c.Exec("test", "-e", path); err == nil {
			t.Errorf("purge left %s %s", path, out)
		}
	}
	if out, err := c.Exec("getent", "passwd", "cloudkeep"); err == nil {
		t.Errorf("purge left the cloudkeep user: %s", out)
	}
}

// logLine is what the agent's JSON log lines in the journal hold.
type logLine struct {
	Message     string `json:"message"`
	Key         string `json:"key"`
	PartsStored int    `json:"parts_stored"`
	SentBytes   int64  `json:"sent_bytes"`
}

// logLines returns the agent's JSON log lines from the unit's journal.
func logLines(t *testing.T, c *nspawntest.Container) []logLine {
	t.Helper()
	var lines []logLine
	for _, text := range strings.Split(c.Journal(t, "cloudkeep"), "\n") {
		var l logLine
		if json.Unmarshal([]byte(text), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}

// inOrder reports whether text holds each of parts, in this order.
func inOrder(text string, parts ...string) bool {
	for _, p := range parts {
		i := strings.Index(text, p)
		if i < 0 {
			return false
		}
		text = text[i+len(p):]
	}
	return true
}

// unitState returns what `systemctl VERB cloudkeep` prints (is-active,
// is-enabled), whatever its exit status.
func unitState(c *nspawntest.Container, verb string) string {
	out, _ := c.Exec("systemctl", verb, "cloudkeep")
	return strings.TrimSpace(out)
}

// show returns properties of cloudkeep.service from systemctl show.
func show(t *testing.T, c *nspawntest.Container, props ...string) map[string]string {
	t.Helper()
	out := c.Run(t, "systemctl", "show", "-p", strings.Join(props, ","), "cloudkeep")
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

// assertStored waits until key is in the bucket, and checks its bytes.
func assertStored(t *testing.T, s *miniotest.Server, key string, want []byte) {
	t.Helper()
	waitFor(t, key+" in the bucket", func() bool {
		_, err := s.Client.StatObject(context.Background(), s.Bucket, key, minio.StatObjectOptions{})
		return err == nil
	})
	obj, err := s.Client.GetObject(context.Background(), s.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := sha256.Sum256(got), sha256.Sum256(want); g != w {
		t.Errorf("%s: %d bytes, sha256 %s; want %d bytes, sha256 %s", key, len(got),
			hex.EncodeToString(g[:]), len(want), hex.EncodeToString(w[:]))
	}
}

// waitFor polls cond until it holds, for at most a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	// A JPEG's SOI and JFIF segment, an MP4's ftyp box: enough to sniff.
	jpegHeader = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	mp4Header  = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
)

// randomFile returns size bytes: header, then seeded pseudo-random bytes.
func randomFile(header []byte, size int, seed uint64) []byte {
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.Write(header)
	io.CopyN(b, rand.NewChaCha8([32]byte{byte(seed)}), int64(size-len(header)))
	return b.Bytes()
}
