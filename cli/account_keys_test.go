package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// keysServer is an account-server process of the built binary.
type keysServer struct {
	url    string
	stderr *syncBuffer
}

// writeAccountConfig writes an account.yaml listening on a free port with
// extra keys, and returns its path and the service's URL.
func writeAccountConfig(t *testing.T, dir, extra string) (string, string) {
	t.Helper()
	addr := closedAddr(t)
	cfg := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: %s\npublic_url: http://accounts.test\nstate_dir: %s\n%s", addr, filepath.Join(dir, "state"), extra)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, "http://" + addr
}

// launchKeysServer starts `cloudkeep account-server --dev` on cfg.
func launchKeysServer(t *testing.T, bin, cfg, url string) *keysServer {
	t.Helper()
	s := &keysServer{url: url, stderr: &syncBuffer{}}
	cmd := exec.Command(bin, "account-server", "--config", cfg, "--dev", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return s
}

// startKeysServer is launchKeysServer, then waitUp.
func startKeysServer(t *testing.T, bin, cfg, url string) *keysServer {
	t.Helper()
	s := launchKeysServer(t, bin, cfg, url)
	s.waitUp(t)
	return s
}

// waitUp waits until s answers.
func (s *keysServer) waitUp(t *testing.T) {
	t.Helper()
	url := s.url
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account service at %s does not answer: %s", url, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kids returns the key ids s publishes in /jwks.json.
func (s *keysServer) kids(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(s.url + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid string } }
	json.NewDecoder(resp.Body).Decode(&set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// writeSecret writes a base64 service secret of mode 0600 and returns its path.
func writeSecret(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Two replicas on one PostgreSQL database, started at once, publish the
// same single key; `--rotate-key` run once is published by both within a
// minute, next to the previous key; a replica with another secret is
// refused, and so is one with no secret_key_file.
func TestAccountServer_SigningKeysShared(t *testing.T) {
	bin := testbin.Cloudkeep(t)
	db := pgtest.DB(t)
	secret := writeSecret(t, t.TempDir(), "secret.key")
	extra := fmt.Sprintf("store: %s\nsecret_key_file: %s\n", db, secret)
	var cfgs [2]string
	var urls [2]string
	for i := range 2 {
		cfgs[i], urls[i] = writeAccountConfig(t, t.TempDir(), extra)
	}
	servers := []*keysServer{launchKeysServer(t, bin, cfgs[0], urls[0]), launchKeysServer(t, bin, cfgs[1], urls[1])}
	for _, s := range servers {
		s.waitUp(t)
	}
	a, b := servers[0], servers[1]
	first := a.kids(t)
	if len(first) != 1 || !slices.Equal(b.kids(t), first) {
		t.Fatalf("JWKS after two first starts at once: A %v, B %v; want one key, the same", first, b.kids(t))
	}

	out, err := exec.Command(bin, "account-server", "--config", cfgs[0], "--rotate-key").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "every running replica signs with it within a minute") {
		t.Fatalf("--rotate-key: %v %s", err, out)
	}
	deadline := time.Now().Add(70 * time.Second)
	for _, s := range servers {
		for got := s.kids(t); len(got) != 2 || got[0] != first[0]; got = s.kids(t) {
			if time.Now().After(deadline) {
				t.Fatalf("JWKS of %s after --rotate-key: %v, want %s and a new key within a minute", s.url, got, first[0])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !slices.Equal(a.kids(t), b.kids(t)) {
		t.Errorf("the replicas publish different keys: %v, %v", a.kids(t), b.kids(t))
	}

	other := writeSecret(t, t.TempDir(), "other.key")
	cfg, _ := writeAccountConfig(t, t.TempDir(), fmt.Sprintf("store: %s\nsecret_key_file: %s\n", db, other))
	res, err := exec.Command(bin, "account-server", "--config", cfg, "--dev").CombinedOutput()
	want := "cannot decrypt with this service secret (secret_key_file " + other + "): every replica must use the secret_key_file the signing keys in the accounts database were made with"
	if code := exitCode(err); code != 2 || !strings.Contains(string(res), want) {
		t.Errorf("a replica with another secret: exit %d %s; want 2 and %q", code, res, want)
	}
	cfg, _ = writeAccountConfig(t, t.TempDir(), fmt.Sprintf("store: %s\n", db))
	res, err = exec.Command(bin, "account-server", "--config", cfg, "--dev").CombinedOutput()
	want = cfg + ": secret_key_file: required when store is a postgres:// URL"
	if code := exitCode(err); code != 2 || !strings.Contains(string(res), want) {
		t.Errorf("a replica without secret_key_file: exit %d %s; want 2 and %q", code, res, want)
	}
}

// An install upgraded in place: the keys of its signing-keys.json are
// published and used, the file is kept as signing-keys.json.imported, and
// its secret.key stays the secret.
func TestAccountServer_ImportsSigningKeysJSON(t *testing.T) {
	bin := testbin.Cloudkeep(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o700)
	var keys []map[string]any
	for i := range 2 {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		keys = append(keys, map[string]any{"kid": fmt.Sprintf("before-upgrade-%d", i), "created": time.Now().UTC(),
			"pem": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	}
	data, _ := json.MarshalIndent(keys, "", "  ")
	os.WriteFile(filepath.Join(state, "signing-keys.json"), data, 0o600)
	secret := make([]byte, 32)
	rand.Read(secret)
	os.WriteFile(filepath.Join(state, "secret.key"), secret, 0o600)

	cfg, url := writeAccountConfig(t, dir, "")
	s := startKeysServer(t, bin, cfg, url)
	if got := s.kids(t); !slices.Equal(got, []string{"before-upgrade-0", "before-upgrade-1"}) {
		t.Errorf("JWKS after the upgrade: %v, want the keys of signing-keys.json", got)
	}
	if got, err := os.ReadFile(filepath.Join(state, "signing-keys.json.imported")); err != nil || string(got) != string(data) {
		t.Errorf("signing-keys.json.imported: %v, want the file as it was", err)
	}
	if _, err := os.Stat(filepath.Join(state, "signing-keys.json")); !os.IsNotExist(err) {
		t.Errorf("signing-keys.json still there: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(state, "secret.key")); string(got) != string(secret) {
		t.Error("secret.key changed")
	}
}

func exitCode(err error) int {
	if e, ok := errors.AsType[*exec.ExitError](err); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// A replica whose public_url differs from the one a running replica on the
// same database uses is refused at start, naming the file and line; once
// the running one has stopped, it starts and warns that the address moved.
func TestAccountServer_PublicURLMustAgree(t *testing.T) {
	bin := testbin.Cloudkeep(t)
	db := pgtest.DB(t)
	secret := writeSecret(t, t.TempDir(), "secret.key")
	config := func(publicURL string) (string, string) {
		dir := t.TempDir()
		addr := closedAddr(t)
		cfg := filepath.Join(dir, "account.yaml")
		text := fmt.Sprintf("listen: %s\npublic_url: %s\nstate_dir: %s\nstore: %s\nsecret_key_file: %s\n", addr, publicURL, filepath.Join(dir, "state"), db, secret)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg, "http://" + addr
	}
	cfgA, urlA := config("https://a.example")
	a := exec.Command(bin, "account-server", "--config", cfgA, "--dev", "--log-format", "json")
	a.Stderr = &syncBuffer{}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Process.Kill(); a.Wait() })
	(&keysServer{url: urlA, stderr: a.Stderr.(*syncBuffer)}).waitUp(t)

	cfgB, urlB := config("https://b.example")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a replica that starts is stopped then
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "account-server", "--config", cfgB, "--dev").CombinedOutput()
	want := cfgB + ":2: public_url: https://b.example differs from https://a.example, which the other replicas on this database use: set the same public_url on every replica"
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), want) {
		t.Errorf("a replica with another public_url while A runs: exit %d %s; want 2 and %q", code, out, want)
	}

	a.Process.Signal(os.Interrupt)
	if err := a.Wait(); err != nil {
		t.Fatalf("A stopping: %v\n%s", err, a.Stderr)
	}
	b := startKeysServer(t, bin, cfgB, urlB)
	if log := b.stderr.String(); !strings.Contains(log, `"public_url":"https://b.example","was":"https://a.example"`) || !strings.Contains(log, `"level":"warn"`) {
		t.Errorf("B after A stopped: no warning that public_url changed in its log:\n%s", log)
	}
}
