package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// storeConfig writes an account.yaml in a new directory whose 4th line is
// store (YAML-quoted) and returns its path.
func storeConfig(t *testing.T, store, extra string) string {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(secret, []byte(rand.Text()+rand.Text()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: %s\npublic_url: http://accounts.test\nstate_dir: %s\nstore: '%s'\nsecret_key_file: %s\n%s",
		closedAddr(t), filepath.Join(dir, "state"), strings.ReplaceAll(store, "'", "''"), secret, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runBin runs the cloudkeep binary and returns its exit code and output.
func runBin(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testbin.Cloudkeep(t), args...).CombinedOutput()
	if e, ok := errors.AsType[*exec.ExitError](err); ok {
		return e.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("cloudkeep %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// badStores are store addresses the service cannot use, each with a
// password, and what it says at the store's line.
var badStores = []struct{ store, want string }{
	{"host=127.0.0.1 port=19501 user=cloudkeep_accounts password=S3cr3tKV dbname=cloudkeep sslmode=disable",
		"store: a key=value string (not shown: it may hold a password) is not accepted: write it as a URL, postgres://USER@HOST:PORT/DATABASE?sslmode=…, and put the password in store_password_file"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
		"store: sslrootcert /nonexistent/ca.crt: no such file"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=bogus",
		"store: sslmode=bogus is not one of disable, allow, prefer, require, verify-ca or verify-full"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:99999/cloudkeep?sslmode=disable", "store: the port is not a number from 1 to 65535"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=disable&pool_max_conns=0", "store: pool_max_conns is too small: want at least 1"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=disable&pool_max_conns=abc", "store: pool_max_conns=abc is not a whole number"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=disable&connect_timeout=x", "store: connect_timeout=x is not a whole number"},
	{"postgres://ck@127.0.0.1:5432/cloudkeep?password=S3cr3tKV&sslmode=bogus", "store: sslmode=bogus is not one of"},
	{"postgres://ck:S3cr3tKV@127.0.0.1:5432/cloudkeep?sslmode=disable#frag",
		"store: a postgres:// URL takes no #fragment: remove it (a '#' in the password is written %23)"},
}

// The account service refuses a store address it cannot use at start, at
// the store's line, saying what to fix, and shows the password nowhere.
func TestAccountServer_StoreAddressErrors(t *testing.T) {
	for _, tc := range badStores {
		cfg := storeConfig(t, tc.store, "")
		code, out := runBin(t, "account-server", "--config", cfg, "--dev")
		if want := cfg + ":4: " + tc.want; code != 2 || !strings.Contains(out, want) {
			t.Errorf("store %s: exit %d\n%s\nwant exit 2 and %s", tc.store, code, out, want)
		}
		if strings.Contains(out, "S3cr3tKV") {
			t.Errorf("store %s: the output shows the password:\n%s", tc.store, out)
		}
	}
}

// copySource makes a SQLite accounts database holding accounts accounts.
func copySource(t *testing.T, accounts int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.db")
	s, err := account.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range accounts {
		a := account.Account{ID: fmt.Sprint(1001 + i), Email: fmt.Sprintf("p%d@example.com", i), Region: "DE",
			BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), PasswordHash: "h", Created: time.Now()}
		if err := s.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// migrate-store reports a --to it cannot use as the flag when given, else
// at the config's store line; a password shows nowhere.
func TestAccountMigrate_TargetAddressErrors(t *testing.T) {
	from := "sqlite:" + copySource(t, 1)
	for _, tc := range badStores[1:] {
		cfg := storeConfig(t, tc.store, "")
		code, out := runBin(t, "account-server", "migrate-store", "--config", cfg, "--from", from)
		if want := cfg + ":4: " + tc.want; code != 2 || !strings.Contains(out, want) {
			t.Errorf("store %s: exit %d\n%s\nwant exit 2 and %s", tc.store, code, out, want)
		}
		code, out = runBin(t, "account-server", "migrate-store", "--config", storeConfig(t, "sqlite:", ""), "--from", from, "--to", tc.store)
		if want := "cloudkeep: --to: " + strings.TrimPrefix(tc.want, "store: "); code != 2 || !strings.Contains(out, want) {
			t.Errorf("--to %s: exit %d\n%s\nwant exit 2 and %s", tc.store, code, out, want)
		}
		if strings.Contains(out, "S3cr3tKV") {
			t.Errorf("store %s: the output shows the password:\n%s", tc.store, out)
		}
	}
}

// pgTables counts the tables of the database at dsn.
func pgTables(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// migrate-store refuses a source that is no accounts database, leaving it
// byte for byte as it was (no tables made in it, no -wal or -shm beside
// it) and the target untouched; an accounts database with no accounts
// copies, and says so.
func TestAccountMigrate_SourceChecked(t *testing.T) {
	db := pgtest.DB(t)
	cfg := storeConfig(t, db, "")
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"empty.db", "", "not a cloudkeep accounts database (no tables)"},
		{"notes.db", strings.Repeat("not a database, some text. ", 10), "not a SQLite database"},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, []byte(tc.content), 0o600)
		code, out := runBin(t, "account-server", "migrate-store", "--config", cfg, "--from", "sqlite:"+path)
		if want := "cloudkeep: --from sqlite:" + path + ": " + tc.want + "\n"; code != 2 || out != want {
			t.Errorf("%s: exit %d %q, want exit 2 and %q", tc.name, code, out, want)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.content {
			t.Errorf("%s: changed to %d bytes, want it as it was (%d)", tc.name, len(got), len(tc.content))
		}
		if beside, _ := filepath.Glob(path + "-*"); len(beside) > 0 {
			t.Errorf("%s: files made beside it: %v", tc.name, beside)
		}
	}
	if n := pgTables(t, db); n != 0 {
		t.Errorf("the target has %d tables after refused copies, want 0", n)
	}

	code, out := runBin(t, "account-server", "migrate-store", "--config", cfg, "--from", "sqlite:"+copySource(t, 0))
	if code != 0 || !regexp.MustCompile(`(?m)^  accounts +0 row\(s\)\n  \(.*accounts.db holds no accounts: if people signed up, --from names the wrong file\)$`).MatchString(out) {
		t.Errorf("a store with no accounts: exit %d\n%s\nwant exit 0, 0 accounts copied and a note", code, out)
	}
}

// migrate-store refuses, even with --force, a target that running
// replicas are connected to, and names how many connections and from
// where; once the replicas have stopped, it copies.
func TestAccountMigrate_RefusesLiveReplicas(t *testing.T) {
	db := pgtest.DB(t)
	from := "sqlite:" + copySource(t, 2)
	cfg := storeConfig(t, db, "")
	var replicas []*exec.Cmd
	for range 2 {
		replicas = append(replicas, startReplica(t, cfg))
	}

	inUse := regexp.MustCompile(`^cloudkeep: migrate the accounts database: the target database is in use by ([2-9]|[1-9][0-9]+) cloudkeep-accounts connections \(127\.0\.0\.1\): stop every replica first\n$`)
	for _, force := range []bool{false, true} {
		args := []string{"account-server", "migrate-store", "--config", cfg, "--from", from}
		if force {
			args = append(args, "--force")
		}
		code, out := runBin(t, args...)
		t.Logf("--force %v: %s", force, out)
		if code != 1 || !inUse.MatchString(out) {
			t.Errorf("--force %v beside a running replica: exit %d %q, want exit 1 and %s", force, code, out, inUse)
		}
	}

	for _, r := range replicas {
		r.Process.Kill()
		r.Wait()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := runBin(t, "account-server", "migrate-store", "--config", cfg, "--from", from, "--force")
		if code == 0 {
			if !regexp.MustCompile(`(?m)^  accounts +2 row\(s\)$`).MatchString(out) {
				t.Errorf("migrate-store after the replicas stopped:\n%s\nwant 2 accounts copied", out)
			}
			break
		}
		if !strings.Contains(out, "the target database is in use by") || time.Now().After(deadline) {
			t.Fatalf("migrate-store after the replicas stopped: exit %d %q", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startReplica starts `account-server --dev` on a copy of cfg with its own
// listen address and state_dir, and waits until it answers.
func startReplica(t *testing.T, cfg string) *exec.Cmd {
	t.Helper()
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	listen := closedAddr(t)
	lines := strings.Split(string(text), "\n")
	lines[0], lines[2] = "listen: "+listen, "state_dir: "+filepath.Join(dir, "state")
	own := filepath.Join(dir, "account.yaml")
	if err := os.WriteFile(own, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r := exec.Command(testbin.Cloudkeep(t), "account-server", "--config", own, "--dev")
	var log syncBuffer
	r.Stdout, r.Stderr = &log, &log
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Process.Kill(); r.Wait() })
	waitFor(t, "the replica to answer", func() bool {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return r
}
