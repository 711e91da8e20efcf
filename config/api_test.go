package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// With neither HOME nor a passwd entry, "~" is refused, naming the key.
func TestLoad_TildeWithoutHome(t *testing.T) {
	clearEnv(t)
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	config.SetHomeLookupForTest(t, func() (string, error) { return "", errors.New("user: unknown userid 4242") })
	text := strings.Replace(valid, "path: /srv/photos", "path: ~/Pictures", 1)
	path := write(t, text)
	_, err := config.Load(path)
	want := path + `:19: watch[0].path: "~/Pictures": cannot expand ~: HOME is not set and the user's home directory is unknown (user: unknown userid 4242); write the full path`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// A watch path that does not exist yet is a warning, not an error: it may
// be mounted later.
func TestAgent_Warnings(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "usb", "DCIM")
	text := strings.Replace(valid, "    name: pictures", "    name: pictures\n  - path: "+dir+"\n    name: here\n  - path: "+missing+"\n    name: usb", 1)
	path := write(t, text)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		path + `:19: watch[0].path: "/srv/photos" does not exist: it is watched once it appears (e.g. when mounted)`,
		path + `:23: watch[2].path: "` + missing + `" does not exist: it is watched once it appears (e.g. when mounted)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
