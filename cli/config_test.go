package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A watch path that does not exist may be mounted later: `config check`
// warns about it and still passes.
func TestConfigCheck_MissingWatchPath(t *testing.T) {
	path := writeAgentConfig(t, "127.0.0.1:9000")
	missing := filepath.Join(t.TempDir(), "usb", "DCIM")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "    name: pictures\n", "    name: pictures\n  - path: "+missing+"\n    name: usb\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := mainWith(context.Background(), []string{"config", "check", "--config", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	want := "warning: " + path + `:13: watch[1].path: "` + missing + `" does not exist: it is watched once it appears (e.g. when mounted)` + "\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr:\ngot  %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(stdout.String(), "# "+path+" is valid") {
		t.Errorf("stdout: got %q, want it to start with %q", stdout.String(), "# "+path+" is valid")
	}
}

// `config init` writes storage.secure as the README documents: false by
// default (true for https).
func TestConfigInit_Secure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	var stdout, stderr bytes.Buffer
	if code := mainWith(context.Background(), []string{"config", "init", "--config", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\n  secure: false   # true for https\n"; !strings.Contains(string(data), want) {
		t.Errorf("config init wrote no %q:\n%s", want, data)
	}
}
