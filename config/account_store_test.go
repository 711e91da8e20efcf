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
	for _, tc := range []struct{ text, want, password string }{
		{"store: mysql://root:hunter2@db/x\n", `:1: store: want sqlite:PATH or postgres://user@host:5432/database?sslmode=…, got "mysql:…"`, "hunter2"},
		{"store: sqlite:/var/lib/a.db\nstore_password_file: " + secret + "\n", ":2: store_password_file: set, but store is not a postgres:// URL", ""},
		{"store: postgres://db/x\nstore_password_file: " + loose + "\n", ":2: store_password_file: " + loose + " can be read by others (mode 0644)", ""},
		// A key=value string has no scheme to show, and its password is
		// not shown either.
		{"store: 'host=127.0.0.1 port=19501 user=cloudkeep_accounts password=S3cr3tKV dbname=cloudkeep sslmode=disable'\n",
			":1: store: a key=value string (not shown: it may hold a password) is not accepted: write it as a URL, postgres://USER@HOST:PORT/DATABASE?sslmode=…, and put the password in store_password_file", "S3cr3tKV"},
		{"store: 'password=S3cr3tKV:host=db'\n", ":1: store: a key=value string (not shown", "S3cr3tKV"},
		{"store: 'user:S3cr3tKV@db/x'\n", `:1: store: want sqlite:PATH or postgres://user@host:5432/database?sslmode=…, got "user:…"`, "S3cr3tKV"},
		{"store: 'pg user:S3cr3tKV@db/x'\n", ":1: store: want sqlite:PATH or postgres://user@host:5432/database?sslmode=…, got something else (not shown: it may hold a password)", "S3cr3tKV"},
		{"store: postgres://ck:S3cr3tKV@db/x?sslmode=disable#frag\n", ":1: store: a postgres:// URL takes no #fragment: remove it (a '#' in the password is written %23)", "S3cr3tKV"},
		{"store: postgres://ck:S3cr#etKV@db/x?sslmode=disable\n", ":1: store: a postgres:// URL takes no #fragment", "S3cr#etKV"},
		{"store: postgres://ck:S3cr3tKV@db:abc/x\n", ":1: store: not a URL: postgres://user@host:5432/database?sslmode=… (in the password write %40 for '@'", "S3cr3tKV"},
	} {
		path := write(t, tc.text)
		_, err := config.LoadAccount(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("%q: got %v, want %s…%s", tc.text, err, path, tc.want)
		}
		if err != nil && tc.password != "" && strings.Contains(err.Error(), tc.password) {
			t.Errorf("the error shows the store's password: %v", err)
		}
	}
}
