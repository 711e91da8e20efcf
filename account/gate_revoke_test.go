package account

import (
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// TestGate_Revocation: after a disconnect on the account page, a revoke, or
// a refresh token presented twice, every grant call is refused at once and
// every request granted before stops working within the grant lifetime.
func TestGate_Revocation(t *testing.T) {
	const ttl = 2 * time.Second
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, ttl, 0)
		for _, how := range []struct {
			name   string
			revoke func(d device)
		}{
			{"account page", ge.webDisconnect},
			{"revoke", func(d device) {
				if code, r := ge.call("POST", "/api/v1/revoke", map[string]string{"token": d.refresh}); code != 200 {
					t.Fatalf("revoke: %d %v", code, r)
				}
			}},
			{"refresh reuse", func(d device) {
				req := map[string]string{"grant_type": "refresh_token", "client_id": "cloudkeep-agent", "refresh_token": d.refresh}
				if code, r := ge.call("POST", "/api/v1/token", req); code != 200 {
					t.Fatalf("refresh: %d %v", code, r)
				}
				ge.clock.advance(refreshGrace + time.Second) // past the grace: a copy, not a retry
				if code, r := ge.call("POST", "/api/v1/token", req); code != 400 || r["error"] != "invalid_grant" {
					t.Fatalf("refresh reuse: %d %v, want 400 invalid_grant", code, r)
				}
			}},
		} {
			t.Run(how.name, func(t *testing.T) {
				d := ge.connectDevice("", "laptop")
				key := d.account + "/laptop/a.jpg"
				body := []byte("before the disconnect")
				ge.putObject(d, key, body)
				put := ge.one(d, putOp(d.account+"/laptop/b.jpg", body))
				get := ge.one(d, wire.Op{Op: wire.OpGet, Key: key})
				list := ge.presignList(d.account + "/")
				for _, r := range []wire.Result{put, get, list} {
					if r.Error != nil {
						t.Fatalf("grant: %+v", r.Error)
					}
				}

				for _, r := range []struct {
					what string
					r    wire.Result
					body []byte
				}{{"PUT", put, body}, {"GET", get, nil}, {"LIST", list, nil}} {
					if code, msg := send(t, r.r, r.body, nil); code != 200 {
						t.Fatalf("%s before the revocation: %d %s", r.what, code, msg)
					}
				}
				how.revoke(d)
				issued := time.Now()
				for _, op := range []wire.Op{putOp(key, body), {Op: wire.OpGet, Key: key}, {Op: wire.OpList, Prefix: d.account + "/"},
					{Op: wire.OpCommit, Key: key}, {Op: wire.OpStat, Key: key}} {
					if code, _, bad := ge.grant(d, op); code != 401 || bad.Code != wire.ErrCodeInvalidToken {
						t.Errorf("%s after revocation: %d %+v, want 401 invalid_token", op.Op, code, bad)
					}
				}
				waitRefused(t, "PUT", put, body, issued.Add(ttl+3*time.Second))
				waitRefused(t, "GET", get, nil, issued.Add(ttl+3*time.Second))
				waitRefused(t, "LIST", list, nil, issued.Add(ttl+3*time.Second))
			})
		}
	})
}

// waitRefused sends r until the storage refuses it, failing after deadline.
func waitRefused(t *testing.T, what string, r wire.Result, body []byte, deadline time.Time) {
	t.Helper()
	for {
		code, msg := send(t, r, body, nil)
		if code != 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s granted before the revocation still works: %d %.100s", what, code, msg)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
