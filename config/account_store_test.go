package config_test

import (
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

func TestLoadAccount_Store(t *testing.T) {
	clearEnv(t)
	secret := writeSecret(t, 0o600)
	c, err := config.LoadAccount(write(t, "store: postgres://cloudkeep@db:5432/cloudkeep?sslmode=disable\nstore_password_file: "+secret+"\nsecret_key_file: "+secret+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "postgres://cloudkeep@db:5432/cloudkeep?sslmode=disable" || c.StorePasswordFile != secret {
		t.Errorf("store %q, password file %q", c.Store, c.StorePasswordFile)
	}
	loose := writeSecret(t, 0o644)
	for _, tc := range []struct{ text, want string }{
		{"store: mysql://root:hunter2@db/x\n", `:1: store: want sqlite:PATH or postgres://user@host:5432/database?sslmode=…, got "mysql:…"`},
		{"store: sqlite:/var/lib/a.db\nstore_password_file: " + secret + "\n", ":2: store_password_file: set, but store is not a postgres:// URL"},
		{"store: postgres://db/x\nstore_password_file: " + loose + "\n", ":2: store_password_file: " + loose + " can be read by others (mode 0644)"},
	} {
		path := write(t, tc.text)
		_, err := config.LoadAccount(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("%q: got %v, want %s…%s", tc.text, err, path, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the store's password: %v", err)
		}
	}
}
