package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
)

func TestLoadAccount_Storage(t *testing.T) {
	clearEnv(t)
	secret := writeSecret(t, 0o600)
	full := "storage:\n  endpoint: 127.0.0.1:9000\n  bucket: photos\n  access_key: gate\n  secret_key_file: " + secret + "\nquota:\n  default: 50GiB\n"
	c, err := config.LoadAccount(write(t, full))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Storage.Configured() || time.Duration(c.Storage.GrantTTL) != 60*time.Second || c.Quota.Default != 50<<30 {
		t.Errorf("storage: %+v quota %v", c.Storage, c.Quota)
	}
	if key, err := c.StorageSecretKey(); key != "s3cr3t" || err != nil {
		t.Errorf("secret: %q %v", key, err)
	}
	none, err := config.LoadAccount(write(t, "listen: 127.0.0.1:9090\n"))
	if err != nil || none.Storage.Configured() {
		t.Errorf("no storage: %+v %v", none, err)
	}

	loose := writeSecret(t, 0o644)
	for _, tc := range []struct{ text, want string }{
		{"storage:\n  endpoint: 127.0.0.1:9000\n", "storage.bucket: required once storage is configured"},
		{"storage:\n  bucket: photos\n", "storage.endpoint: required once storage is configured"},
		{"storage:\n  endpoint: 127.0.0.1:9000\n  bucket: photos\n  access_key: k\n", "storage.secret_key_file: required once storage is configured"},
		{"storage:\n  endpoint: http://127.0.0.1:9000\n", `:2: storage.endpoint: "http://127.0.0.1:9000" must be host[:port] without a scheme or path`},
		{"storage:\n  bucket: No_Such\n", `:2: storage.bucket: "No_Such" is not a valid bucket name`},
		{"storage:\n  grant_ttl: 2m\n", ":2: storage.grant_ttl: 2m0s is out of range 1s to 1m0s"},
		{"storage:\n  grant_ttl: 500ms\n", ":2: storage.grant_ttl: 500ms is out of range 1s to 1m0s"},
		{"storage:\n  secret_key_file: " + loose + "\n", ":2: storage.secret_key_file: " + loose + " can be read by others (mode 0644): run `chmod 600 " + loose + "`"},
		{"quota:\n  default: lots\n", `:2: quota.default: "lots" is not a size`},
		{"storage:\n  secure: maybe\n", ":2: storage.secure:"},
	} {
		path := write(t, tc.text)
		_, err := config.LoadAccount(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("%q: got %v, want %s…%s", tc.text, err, path, tc.want)
		}
	}
}

func TestExampleAccount_ParsesWithoutStorage(t *testing.T) {
	clearEnv(t)
	c, err := config.ParseAccount("account.yaml", []byte(config.ExampleAccount))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Configured() || time.Duration(c.Storage.GrantTTL) != time.Minute || c.Quota.Default != 0 {
		t.Errorf("example: %+v %+v", c.Storage, c.Quota)
	}
}
