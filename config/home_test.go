package config_test

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// A service started by `service` or an init script has no HOME: every path
// key with "~" takes the home of the account's passwd entry.
func TestLoad_EveryPathKeyWithoutHOME(t *testing.T) {
	clearEnv(t)
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		t.Skipf("no passwd entry for the current user: %v", err)
	}
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	t.Setenv("XDG_STATE_HOME", "")
	text := strings.NewReplacer(
		"path: /srv/photos", "path: ~/Pictures",
		"state_dir: /var/lib/cloudkeep", "state_dir: ~/.local/state/cloudkeep",
		"    secret_key: s3cr3t-value", "    secret_key_file: ~/.config/cloudkeep/secret",
	).Replace(valid) + "control:\n  socket: ~/.cloudkeep.sock\n"
	c, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	for key, got := range map[string]string{
		"watch[0].path":   c.Watch[0].Path,
		"state_dir":       c.StateDir,
		"secret_key_file": c.Storage.Credentials.SecretKeyFile,
		"control.socket":  c.Control.Socket,
	} {
		if !strings.HasPrefix(got, u.HomeDir+string(filepath.Separator)) {
			t.Errorf("%s: got %q, want it under %s", key, got, u.HomeDir)
		}
	}
}
