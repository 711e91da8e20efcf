package account

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// downStore is a store whose device, refresh and device-flow lookups and
// ping fail with err while down is set.
type downStore struct {
	Store
	down atomic.Bool
	err  error
}

func (s *downStore) fail() error {
	if s.down.Load() {
		return s.err
	}
	return nil
}

func (s *downStore) Device(ctx context.Context, id string) (Device, error) {
	if err := s.fail(); err != nil {
		return Device{}, err
	}
	return s.Store.Device(ctx, id)
}

func (s *downStore) DeviceByRefresh(ctx context.Context, hash string) (Device, error) {
	if err := s.fail(); err != nil {
		return Device{}, err
	}
	return s.Store.DeviceByRefresh(ctx, hash)
}

func (s *downStore) DeviceAuth(ctx context.Context, hash string) (DeviceAuth, error) {
	if err := s.fail(); err != nil {
		return DeviceAuth{}, err
	}
	return s.Store.DeviceAuth(ctx, hash)
}

func (s *downStore) Ping(ctx context.Context) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.(pinger).Ping(ctx)
}

// reply is a status, an error code and a Retry-After header.
type reply struct {
	status int
	code   string
	retry  string
}

// sendAnswer sends req and reads its answer.
func sendAnswer(t testing.TB, req *http.Request) (reply, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	code, _ := out["error"].(string)
	return reply{resp.StatusCode, code, resp.Header.Get("Retry-After")}, out
}

func getAnswer(t testing.TB, url, token string) (reply, map[string]any) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return sendAnswer(t, req)
}

func postAnswer(t testing.TB, url, token string, body any) (reply, map[string]any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return sendAnswer(t, req)
}

// A store that does not answer is a server error, which a device retries,
// never a refusal of its sign-in: /me, the grant, a refresh and a device
// code poll answer server_error with a Retry-After (503 when the store
// could not be reached, 500 otherwise), and /healthz answers 503 with the
// reason, until the store answers again.
func TestHandler_StoreDownIsNoSignOut(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
		reason string
	}{
		{"unreachable", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, 503,
			"accounts database: cannot connect: connection refused"},
		{"failing", errors.New("disk I/O error"), 500, "accounts database: no answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var store *downStore
			e := newEnvOn(t, func(t testing.TB, dir string) (Store, error) {
				s, err := openSQLite(t, dir)
				store = &downStore{Store: s, err: c.err}
				return store, err
			})
			api := httptestGate(t, e)
			e.signup("ada@example.com", "ada-pass-991")
			tok := e.connect("ada@example.com", "ada-pass-991", "ada@example.com", "laptop")
			access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
			_, dev := e.call("POST", wire.PathDeviceAuthorize, map[string]string{"client_id": "cloudkeep-agent", "device_name": "phone"})

			store.down.Store(true)
			want := reply{c.status, wire.ErrCodeServer, "5"}
			calls := map[string]func() (reply, map[string]any){
				"GET /me": func() (reply, map[string]any) { return getAnswer(t, e.url+wire.PathMe, access) },
				"grant": func() (reply, map[string]any) {
					return postAnswer(t, api+wire.PathStorageGrant, access, grantOneGet(tok))
				},
				"refresh": func() (reply, map[string]any) { return postAnswer(t, e.url+wire.PathToken, "", refreshBody(refresh)) },
				"poll": func() (reply, map[string]any) {
					return postAnswer(t, e.url+wire.PathToken, "", pollBody(dev["device_code"]))
				},
			}
			for name, call := range calls {
				if got, out := call(); got != want {
					t.Errorf("%s with the store down: %+v %v, want %+v", name, got, out, want)
				}
			}
			got, out := getAnswer(t, e.url+"/healthz", "")
			if got.status != 503 || out["status"] != "unavailable" || out["reason"] != c.reason {
				t.Errorf("/healthz with the store down: %d %v, want 503 unavailable %q", got.status, out, c.reason)
			}

			store.down.Store(false)
			if got, out := getAnswer(t, e.url+"/healthz", ""); got.status != 200 || out["status"] != "ok" {
				t.Errorf("/healthz with the store back: %d %v, want 200 ok", got.status, out)
			}
			if got, out := getAnswer(t, e.url+wire.PathMe, access); got.status != 200 {
				t.Errorf("GET /me with the store back: %d %v, want 200", got.status, out)
			}
			if got, out := postAnswer(t, e.url+wire.PathToken, "", refreshBody(refresh)); got.status != 200 {
				t.Errorf("refresh with the store back: %d %v, want 200: the device is still connected", got.status, out)
			}
		})
	}
}

// httptestGate serves e's handler with a gate on an unreachable storage:
// the grant's bearer check comes first.
func httptestGate(t *testing.T, e *env) string {
	g, err := NewGate(GateConfig{Endpoint: "127.0.0.1:1", Bucket: "b", Region: "us-east-1", AccessKey: "k",
		SecretKey: "secret-key", GrantTTL: 30 * time.Second}, nil, e.svc.log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(e.svc, e.svc.log, WithGate(g)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func grantOneGet(tok map[string]any) wire.GrantRequest {
	return wire.GrantRequest{Ops: []wire.Op{{Op: wire.OpGet, Key: tok["account_id"].(string) + "/laptop/a.jpg"}}}
}

func refreshBody(refresh string) map[string]string {
	return map[string]string{"grant_type": grantRefresh, "client_id": "cloudkeep-agent", "refresh_token": refresh}
}

func pollBody(code any) map[string]any {
	return map[string]any{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": code}
}

// adminURL is the URL of the cluster's postgres database, from a test
// database's.
func adminURL(t testing.TB, dbURL string) (admin, name string) {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name = strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	return u.String(), name
}

func adminExec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// On a real PostgreSQL: when the database refuses the service's
// connections and drops the ones it has, a connected device's /me, grant
// and refresh answer 503 server_error, never 401 "This device was
// disconnected.", and /healthz answers 503 (a load balancer takes the
// replica out); once the database is back, everything answers 200.
func TestHandler_PostgresDownIsNoSignOut(t *testing.T) {
	var dbURL string
	e := newEnvOn(t, func(t testing.TB, _ string) (Store, error) {
		dbURL = pgtest.DB(t)
		return OpenPostgres(context.Background(), dbURL, "")
	})
	admin, name := adminURL(t, dbURL)
	ge := gateOn(e, startMinIOServer(t), 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	get := wire.GrantRequest{Ops: []wire.Op{{Op: wire.OpGet, Key: d.account + "/laptop/a.jpg"}}}
	calls := []struct {
		name string
		call func() (reply, map[string]any)
	}{
		{"GET /me", func() (reply, map[string]any) { return getAnswer(t, e.url+wire.PathMe, d.access) }},
		{"grant", func() (reply, map[string]any) { return postAnswer(t, ge.api+wire.PathStorageGrant, d.access, get) }},
		{"refresh", func() (reply, map[string]any) { return postAnswer(t, e.url+wire.PathToken, "", refreshBody(d.refresh)) }},
	}
	terminate := "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()"

	// Connections terminated under a running database: never a refusal.
	adminExec(t, admin, terminate)
	for _, c := range calls[:2] {
		for range 3 {
			if got, out := c.call(); got.status != 200 && got != (reply{503, wire.ErrCodeServer, "5"}) {
				t.Errorf("%s after its connections were terminated: %+v %v, want 200 or 503 server_error", c.name, got, out)
			}
		}
	}

	// The database down: it refuses new connections, the old ones are gone.
	adminExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	t.Cleanup(func() { adminExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true") })
	adminExec(t, admin, terminate)
	for _, c := range calls {
		if got, out := c.call(); got != (reply{503, wire.ErrCodeServer, "5"}) {
			t.Errorf("%s with the database down: %+v %v, want 503 server_error, Retry-After 5", c.name, got, out)
		}
	}
	got, out := getAnswer(t, e.url+"/healthz", "")
	reason, _ := out["reason"].(string)
	if got.status != 503 || out["status"] != "unavailable" || !strings.HasPrefix(reason, "accounts database: ") ||
		!strings.Contains(reason, "not currently accepting connections") || strings.Contains(reason, pgtest.Password) {
		t.Errorf("/healthz with the database down: %d %v, want 503 unavailable, why, without the password", got.status, out)
	}

	// The database back: the same tokens work.
	adminExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	for _, c := range []struct {
		name string
		call func() (reply, map[string]any)
	}{{"/healthz", func() (reply, map[string]any) { return getAnswer(t, e.url+"/healthz", "") }}, calls[0], calls[1], calls[2]} {
		if got, out := c.call(); got.status != 200 {
			t.Errorf("%s with the database back: %d %v, want 200", c.name, got.status, out)
		}
	}
}
