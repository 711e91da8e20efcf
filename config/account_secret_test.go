package config_test

import (
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// secret_key_file is optional on SQLite, required on PostgreSQL (replicas
// share it), and mode-checked like every secret file.
func TestLoadAccount_SecretKeyFile(t *testing.T) {
	clearEnv(t)
	secret := writeSecret(t, 0o600)
	c, err := config.LoadAccount(write(t, "secret_key_file: "+secret+"\n"))
	if err != nil || c.SecretKeyFile != secret {
		t.Fatalf("on SQLite: got %q, %v; want %s", c.SecretKeyFile, err, secret)
	}
	if c, err := config.LoadAccount(write(t, "listen: 127.0.0.1:8080\n")); err != nil || c.SecretKeyFile != "" {
		t.Errorf("unset: got %q, %v; want empty (secret.key in state_dir)", c.SecretKeyFile, err)
	}
	loose := writeSecret(t, 0o644)
	for _, tc := range []struct{ text, want string }{
		{"store: postgres://db/x\n", ": secret_key_file: required when store is a postgres:// URL: every replica must use the same secret (make one with `(umask 077; head -c 32 /dev/urandom > /etc/cloudkeep/accounts-secret.key)` and copy it to each replica, mode 0600)"},
		{"store: postgres://db/x\nsecret_key_file: " + loose + "\n", ":2: secret_key_file: " + loose + " can be read by others (mode 0644)"},
		{"secret_key_file: /nonexistent/secret.key\n", ":1: secret_key_file: stat /nonexistent/secret.key: no such file or directory"},
	} {
		path := write(t, tc.text)
		_, err := config.LoadAccount(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("%q: got %v, want %s…%s", tc.text, err, path, tc.want)
		}
	}
}
