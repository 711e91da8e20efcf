package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

func TestAccountServer(t *testing.T) {
	w := newWorld(t)
	port := miniotest.FreePort(t)
	cfg := filepath.Join(w.dir, "account.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\ntokens:\n  access_ttl: 5s\n", port, filepath.Join(w.dir, "accounts"))), 0o600)
	// A broken config names the file, line and key, and nothing starts.
	res := w.run("account-server", "--config", cfg)
	if res.code != 2 || !strings.Contains(res.stderr, cfg+":4: tokens.access_ttl: 5s is below the minimum of 10s") {
		t.Fatalf("broken config: exit %d %q", res.code, res.stderr)
	}
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\n", port, filepath.Join(w.dir, "accounts"))), 0o600)
	res = w.run("account-server", "--config", cfg)
	if res.code != 2 || !strings.Contains(res.stderr, "no way to send codes") {
		t.Fatalf("no delivery: exit %d %q", res.code, res.stderr)
	}
	cmd := w.command("account-server", "--config", cfg, "--dev")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	w.eventually(10*time.Second, "the account service answers", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	for _, f := range []string{"secret.key", "accounts.db"} {
		fi, err := os.Stat(filepath.Join(w.dir, "accounts", f))
		if err != nil || (f != "accounts.db" && fi.Mode().Perm() != 0o600) {
			t.Errorf("%s: %v %v", f, err, fi)
		}
	}
}
