package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

func warnings(t *testing.T, path string) []string {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Error())
	}
	return got
}

// In a service's config a watch path under /tmp or /var/tmp is a warning:
// the units' PrivateTmp=yes hides it from the service. Outside a service
// (a user's own run) it is not.
func TestAgent_WarningsTmpWatchPaths(t *testing.T) {
	clearEnv(t)
	t.Setenv("INVOCATION_ID", "")
	text := strings.Replace(valid, "  - path: /srv/photos\n    name: pictures",
		"  - path: /tmp\n    name: tmp\n  - path: /var/tmp/pics\n    name: pics", 1)
	path := write(t, text)
	if got := warnings(t, path); len(got) != 1 || !strings.Contains(got[0], "/var/tmp/pics\" does not exist") {
		t.Errorf("outside a service: got %q, want only the missing folder", got)
	}
	t.Setenv("INVOCATION_ID", "0123456789abcdef")
	want := []string{
		path + `:19: watch[0].path: "/tmp" is under /tmp, which is private to the cloudkeep service (PrivateTmp=yes): the service never sees this folder: watch another folder`,
		path + `:21: watch[1].path: "/var/tmp/pics" is under /var/tmp, which is private to the cloudkeep service (PrivateTmp=yes): the service never sees this folder: watch another folder`,
		path + `:21: watch[1].path: "/var/tmp/pics" does not exist: it is watched once it appears (e.g. when mounted)`,
	}
	if got := warnings(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("under systemd:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A secret_key written in a config file that others may read is a
// warning; at 0600 or 0640 (the packaged layout) it is not.
func TestAgent_WarningsInlineSecretReadable(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	path := write(t, strings.Replace(valid, "/srv/photos", dir, 1))
	for _, mode := range []os.FileMode{0o600, 0o640} {
		os.Chmod(path, mode)
		if got := warnings(t, path); len(got) != 0 {
			t.Errorf("mode %04o: got %q, want no warning", mode, got)
		}
	}
	os.Chmod(path, 0o644)
	want := path + ":11: storage.credentials.secret_key: the secret key is written in " + path +
		", which others can read (mode 0644): run `chmod 600 " + path + "`, or move the key to a secret_key_file only the agent's user can read"
	if got := warnings(t, path); len(got) != 1 || got[0] != want {
		t.Errorf("mode 0644:\ngot  %q\nwant %q", got, want)
	}
}

// A media.since after today is allowed but said: nothing would be backed up.
func TestAgent_WarningsSinceInFuture(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	text := strings.Replace(valid, "/srv/photos", dir, 1)
	text = strings.Replace(text, "kinds: [photo, video]", "kinds: [photo, video]\n  since: 2999-01-01", 1)
	path := write(t, text)
	os.Chmod(path, 0o600)
	want := path + ":23: media.since: 2999-01-01 is in the future: no photo or video is backed up until one is taken on or after that day"
	if got := warnings(t, path); len(got) != 1 || got[0] != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	path = write(t, strings.Replace(text, "2999-01-01", "2024-01-31", 1))
	os.Chmod(path, 0o600)
	if got := warnings(t, path); len(got) != 0 {
		t.Errorf("since in the past: got %q, want no warning", got)
	}
}
