package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// `--rotate-key` twice within a second while replica B has not reloaded
// yet: B keeps signing with the key it has, two behind the newest, and a
// replica that has loaded the new keys (C, started after the rotations)
// grants the agent's next call with that token instead of signing it out.
func TestAccountServer_QuickRotationsKeepStaleTokensValid(t *testing.T) {
	r := startReplicas(t)
	a, b := r.replica[0], r.replica[1]
	const email, password = "rita@example.com", "rita-pass-31"
	id := a.signup(email, password)
	ch := a.post(wire.PathSignin, map[string]string{"username": email, "password": password})
	tok := a.post(wire.PathSigninVerify, map[string]string{"challenge_id": ch["challenge_id"].(string), "code": r.mail.lastCode(t, email),
		"client_id": "cloudkeep-agent", "device_name": "laptop"})
	before := tokenKid(t, tok["access_token"].(string))

	// B restarted: its next periodic reload is 30 seconds away.
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Wait()
	startReplica(b)
	for range 2 {
		out, err := execCommand(testbin.Cloudkeep(t), "account-server", "--config", a.config, "--rotate-key").CombinedOutput()
		if err != nil {
			t.Fatalf("--rotate-key: %v %s", err, out)
		}
	}
	fromB := b.post(wire.PathToken, map[string]string{"grant_type": wire.GrantRefresh, "client_id": "cloudkeep-agent", "refresh_token": tok["refresh_token"].(string)})
	stale := fromB["access_token"].(string)
	if kid := tokenKid(t, stale); kid != before {
		t.Fatalf("B signs with %s, want %s, the key it loaded at its start", kid, before)
	}

	c := thirdReplica(t, r)
	body := map[string]any{"ops": []map[string]string{{"op": wire.OpList, "prefix": id + "/laptop/"}}}
	for _, s := range []*stack{c, a, b} {
		if code, out := bearer(t, s.url, wire.PathStorageGrant, stale, body); code != 200 {
			t.Errorf("a grant on %s with the token B signed with the key it had: %d %v, want 200", s.url, code, out)
		}
	}
	if code, me := bearer(t, c.url, wire.PathMe, stale, nil); code != 200 || me["account_id"] != id {
		t.Errorf("%s on C with B's token: %d %v, want 200 for %s", wire.PathMe, code, me, id)
	}
}

// thirdReplica starts a replica like r's first on another port and state
// directory: it loads the keys the store holds now.
func thirdReplica(t *testing.T, r *replicaSet) *stack {
	a := r.replica[0]
	text, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	port := miniotest.FreePort(t)
	cfg := strings.Replace(string(text), "listen: "+strings.TrimPrefix(a.url, "http://"), fmt.Sprintf("listen: 127.0.0.1:%d", port), 1)
	cfg = strings.Replace(cfg, "state-a", "state-c", 1)
	c := &stack{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), config: filepath.Join(filepath.Dir(a.config), "account-c.yaml"),
		srv: r.srv, proxy: a.proxy, logs: &syncBuffer{}, codes: a.codes}
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startReplica(c)
	return c
}

// tokenKid returns the key id in a JWT's header.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Kid string }
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h.Kid
}
