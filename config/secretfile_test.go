package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

func writeSecret(t *testing.T, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("  s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckSecretFileMode(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false}, {0o620, false}, {0o666, false},
	} {
		path := writeSecret(t, tc.mode)
		err := config.CheckSecretFileMode(path)
		want := ""
		if !tc.ok {
			want = path + " " + exposedTo(tc.mode) + " (mode " + octal(tc.mode) + "): run `chmod 600 " + path + "`"
		}
		if got := errString(err); got != want {
			t.Errorf("mode %s: got %q, want %q", octal(tc.mode), got, want)
		}
	}
	if err := config.CheckSecretFileMode(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestReadSecretFile(t *testing.T) {
	path := writeSecret(t, 0o600)
	if got, err := config.ReadSecretFile(path); got != "s3cr3t" || err != nil {
		t.Errorf("got %q, %v, want s3cr3t", got, err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	if _, err := config.ReadSecretFile(path); errString(err) != path+" is empty" {
		t.Errorf("empty: got %v, want %s is empty", err, path)
	}
	os.Chmod(path, 0o644)
	if _, err := config.ReadSecretFile(path); err == nil {
		t.Error("mode 0644: read, want refused")
	}
}

// Every secret file of account.yaml is refused when others may read it,
// naming the file, its line and key, and the fix.
func TestLoadAccount_SecretFileModes(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ key, text string }{
		{"delivery.email.smtp.password_file", "delivery:\n  email:\n    smtp: {host: smtp.example.com, from: a@example.com, password_file: %s}\n"},
		{"delivery.sms.webhook.auth_header_file", "delivery:\n  sms:\n    webhook: {url: https://sms.example.com, auth_header_file: %s}\n"},
	} {
		secret := writeSecret(t, 0o644)
		path := write(t, strings.Replace(tc.text, "%s", secret, 1))
		_, err := config.LoadAccount(path)
		want := path + ":3: " + tc.key + ": " + secret + " can be read by others (mode 0644): run `chmod 600 " + secret + "`"
		if errString(err) != want {
			t.Errorf("%s: got %v, want %s", tc.key, err, want)
		}
		os.Chmod(secret, 0o600)
		if _, err := config.LoadAccount(path); err != nil {
			t.Errorf("%s mode 0600: %v", tc.key, err)
		}
	}
}

// The device's static secret_key_file is checked the same way.
func TestSecretKeyFile_Mode(t *testing.T) {
	clearEnv(t)
	keyFile := writeSecret(t, 0o640)
	c, err := config.Load(write(t, strings.Replace(valid, "secret_key: s3cr3t-value", "secret_key_file: "+keyFile, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SecretKey()
	want := "storage.credentials.secret_key_file: " + keyFile + " can be read by its group " + myGroup(t) + " (mode 0640): run `chmod 600 " + keyFile + "`"
	if !strings.HasSuffix(errString(err), want) {
		t.Errorf("got %v, want …%s", err, want)
	}
}

// exposedTo is who besides its owner may use a secret file of mode m that
// this process created.
func exposedTo(m os.FileMode) string {
	switch {
	case m&0o007 != 0:
		return "can be read by others"
	case m&0o040 != 0:
		return "can be read by its group " + myGroup(nil)
	}
	return "can be changed by its group " + myGroup(nil)
}

// myGroup is the name of the group of the files this process creates.
func myGroup(*testing.T) string {
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		return strconv.Itoa(os.Getegid())
	}
	return g.Name
}

func octal(m os.FileMode) string { return fmt.Sprintf("%04o", m) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The written example leaves public_url derived from listen, so changing
// only listen keeps the issuer right.
func TestExampleAccount_PublicURLFollowsListen(t *testing.T) {
	clearEnv(t)
	text := strings.Replace(config.ExampleAccount, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:9090", 1)
	if text == config.ExampleAccount {
		t.Fatal("the example has no listen: 127.0.0.1:8080 line")
	}
	c, err := config.ParseAccount("account.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "http://127.0.0.1:9090" {
		t.Errorf("public_url: got %q, want http://127.0.0.1:9090", c.PublicURL)
	}
	if !strings.Contains(config.ExampleAccount, "\n# public_url: https://accounts.example.com\n") {
		t.Error("the example lacks the commented public_url line")
	}
}
