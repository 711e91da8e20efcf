package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// The accounts database down under two replicas and a running agent: the
// replicas answer the device 503 server_error (never 401 "This device was
// disconnected."), /healthz answers 503 so that a load balancer takes
// them out, the agent stays signed in and waits; once the database is
// back, /healthz answers 200 and the agent stores what it could not.
func TestAccountServer_DatabaseDown(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	r := startReplicas(t)
	const email, password = "ines@example.com", "ines-pass-62"
	id := r.replica[0].signup(email, password)
	w := newWorldOn(t, r.srv, r.lb.url)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	w.login(r.lb, email, password, email)
	agent := w.startAgent()
	w.file("before.jpg", jpegHeader(t), 200<<10, 1)
	w.eventually(60*time.Second, "before.jpg is stored", func() bool { return len(w.sizes()) == 1 })

	admin, name := pgAdmin(t, r.db)
	pgExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	t.Cleanup(func() { pgExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true") })
	pgExec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"' AND pid <> pg_backend_pid()")

	access := readCredentials(t, w)["access_token"]
	list := map[string]any{"ops": []map[string]string{{"op": wire.OpList, "prefix": id + "/laptop/"}}}
	for _, s := range r.replica {
		if code, out := bearer(t, s.url, wire.PathMe, access, nil); code != 503 || out["error"] != wire.ErrCodeServer {
			t.Errorf("%s on %s with the database down: %d %v, want 503 %s", wire.PathMe, s.url, code, out, wire.ErrCodeServer)
		}
		if code, out := bearer(t, s.url, wire.PathStorageGrant, access, list); code != 503 || out["error"] != wire.ErrCodeServer {
			t.Errorf("a grant on %s with the database down: %d %v, want 503 %s", s.url, code, out, wire.ErrCodeServer)
		}
		if code, out := send(t, s.url, "/healthz", nil, nil); code != 503 || out["status"] != "unavailable" ||
			!strings.HasPrefix(out["reason"].(string), "accounts database: ") {
			t.Errorf("/healthz on %s with the database down: %d %v, want 503 unavailable", s.url, code, out)
		}
	}
	w.file("during.jpg", jpegHeader(t), 200<<10, 2)
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if st, ok := agent.status(); ok && st.State != "running" {
			t.Fatalf("agent with the database down: state %q, want running (it waits)", st.State)
		}
	}
	if len(w.sizes()) != 1 {
		t.Fatalf("stored with the database down: %v, want only before.jpg", w.sizes())
	}

	pgExec(t, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	for _, s := range r.replica {
		if code, out := send(t, s.url, "/healthz", nil, nil); code != http.StatusOK || out["status"] != "ok" {
			t.Errorf("/healthz on %s with the database back: %d %v, want 200 ok", s.url, code, out)
		}
	}
	w.eventually(120*time.Second, "during.jpg is stored once the database is back", func() bool { return len(w.sizes()) == 2 })

	// The replicas' connections terminated again and again while the agent
	// uploads: a dropped connection is no disconnect either.
	terminate := "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()"
	for i := range 8 {
		w.file(fmt.Sprintf("after_%d.jpg", i), jpegHeader(t), 100<<10, uint64(10+i))
		pgExec(t, admin, terminate)
		time.Sleep(300 * time.Millisecond) // the agent's grant calls meet the dropped connections
	}
	w.eventually(120*time.Second, "every file is stored", func() bool { return len(w.sizes()) == 10 })
	if st, _ := agent.status(); st.State != "running" {
		t.Errorf("agent after its replicas' connections were dropped: state %q, want running", st.State)
	}
	agent.stop()
}

// pgAdmin is the URL of the cluster's postgres database and the name of
// the database at dbURL.
func pgAdmin(t *testing.T, dbURL string) (admin, name string) {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name = strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	return u.String(), name
}

func pgExec(t *testing.T, admin, sql string) {
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
