package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// A service on SQLite with a person, a connected device, stored files,
// usage and a quota is stopped, its store copied into PostgreSQL with
// `account-server migrate-store`, and started on PostgreSQL with the same
// secret: the person signs in, the device's refresh token still works,
// usage and quota are the same, and `ls` lists the same files.
func TestAccountServer_MigrateStore(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	pgURL := pgtest.DB(t)
	s := startStack(t, stackOptions{})
	id := s.signup("mira@example.com", "mira-pass-31")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "mira@example.com", "mira-pass-31", "mira@example.com")
	w.file("2025/IMG_1.jpg", jpegHeader(t), 300<<10, 1)
	w.file("VID.mp4", mp4Header, 6*MiB, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	lsBefore := w.run("ls")
	usageBefore := s.quotaLine(id, "1GiB")

	db := filepath.Join(filepath.Dir(s.config), "state", "accounts.db")
	migrate := func(extra ...string) result {
		args := append([]string{"account-server", "migrate-store", "--config", s.config, "--from", "sqlite:" + db, "--to", pgURL}, extra...)
		return w.run(args...)
	}
	res := migrate()
	if want := db + " is open in process "; res.code != 1 || !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "stop the service first") {
		t.Fatalf("migrate-store beside a running service: exit %d %q, want exit 1 and %q", res.code, res.stderr, want)
	}

	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	res = migrate()
	if res.code != 0 {
		t.Fatalf("migrate-store: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("migrate-store:\n%s", res.stdout)
	// objects: the two files and the device's manifest.
	for table, want := range map[string]string{"accounts": "1", "devices": "1", "objects": "3", "usage": "1", "quotas": "1"} {
		if !regexp.MustCompile(`(?m)^  ` + table + ` +` + want + ` row\(s\)$`).MatchString(res.stdout) {
			t.Errorf("migrate-store did not say %s got %s row(s):\n%s", table, want, res.stdout)
		}
	}
	res = migrate()
	if want := "the PostgreSQL store already holds 1 account(s)"; res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Errorf("migrate-store again: exit %d %q, want exit 1 and %q", res.code, res.stderr, want)
	}
	if res = migrate("--force"); res.code != 0 {
		t.Errorf("migrate-store --force: exit %d %q", res.code, res.stderr)
	}

	if want := "secret_key_file: a copy of " + filepath.Join(filepath.Dir(db), "secret.key"); !strings.Contains(res.stdout, want) {
		t.Errorf("migrate-store did not say what to set next (%q):\n%s", want, res.stdout)
	}
	secret, _ := os.ReadFile(filepath.Join(filepath.Dir(db), "secret.key"))
	secretFile := filepath.Join(filepath.Dir(s.config), "accounts-secret.key")
	os.WriteFile(secretFile, secret, 0o600)
	text, _ := os.ReadFile(s.config)
	os.WriteFile(s.config, append(text, []byte("store: "+pgURL+"\nsecret_key_file: "+secretFile+"\n")...), 0o600)
	os.Rename(db, db+".moved") // the service must not find the old store
	s.start()
	s.signIn("mira@example.com", "mira-pass-31", "mira@example.com")

	creds := filepath.Join(w.state, "credentials.json")
	old := expireAccess(t, creds)
	lsAfter := w.run("ls")
	if lsAfter.code != 0 || lsAfter.stdout != lsBefore.stdout {
		t.Errorf("ls on PostgreSQL: exit %d\n%s%s\nwant the same as on SQLite:\n%s", lsAfter.code, lsAfter.stdout, lsAfter.stderr, lsBefore.stdout)
	}
	if now := expireAccess(t, creds); now == old {
		t.Errorf("the device's refresh token was not used (still %s…)", old[:8])
	}
	if got := s.quotaLine(id, "1GiB"); got != usageBefore {
		t.Errorf("usage on PostgreSQL: %q, want %q as on SQLite", got, usageBefore)
	}
}

// quotaLine sets an account's quota with `account-server quota` and
// returns what it prints: the quota, the usage and the object count.
func (s *stack) quotaLine(account, size string) string {
	s.t.Helper()
	out, err := execCommand(testbin.Cloudkeep(s.t), "account-server", "quota", "--config", s.config, account, size).CombinedOutput()
	if err != nil {
		s.t.Fatalf("account-server quota: %v\n%s", err, out)
	}
	return string(out)
}

// expireAccess marks the access token in a device's credentials as
// expired, so that its next call refreshes it, and returns the refresh
// token the file holds.
func expireAccess(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	c["access_expiry"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return c["refresh_token"].(string)
}
