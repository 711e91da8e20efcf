package account

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// openSQLite is the default store of a test: SQLite in dir.
func openSQLite(_ testing.TB, dir string) (Store, error) {
	return OpenSQLite(context.Background(), filepath.Join(dir, "accounts.db"))
}

// openPostgres is a fresh database in the test process's PostgreSQL.
func openPostgres(t testing.TB, _ string) (Store, error) {
	return OpenPostgres(context.Background(), pgtest.DB(t)+"&pool_max_conns=20", "")
}

// forEachStore runs test against a service on SQLite and on PostgreSQL;
// newEnv makes a service on the store of the subtest.
func forEachStore(t *testing.T, test func(t *testing.T, newEnv func(testing.TB) *env)) {
	for _, s := range []struct {
		name string
		open func(testing.TB, string) (Store, error)
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(s.name, func(t *testing.T) {
			test(t, func(t testing.TB) *env { t.Helper(); return newEnvOn(t, s.open) })
		})
	}
}

// A NUL in a user name or an ID gets the answer it gets on SQLite, not a
// server error: PostgreSQL's text holds no NUL. The attempts still count.
func TestStore_NULInRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(testing.TB) *env) {
		e := newEnv(t)
		for _, c := range []struct {
			path string
			body map[string]string
			want string
		}{
			{"/api/v1/signin", map[string]string{"username": "a\x00b", "password": "wrongpass1"}, "401 invalid_credentials"},
			{"/api/v1/signup/verify", map[string]string{"signup_id": "a\x00", "pin": "123456"}, "400 code_expired"},
			{"/api/v1/signin/verify", map[string]string{"challenge_id": "a\x00", "code": "123456", "client_id": "cloudkeep-agent",
				"device_name": "laptop"}, "400 code_expired"},
			{"/api/v1/token", map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": "a\x00"},
				"400 invalid_grant"},
		} {
			code, r := e.call("POST", c.path, c.body)
			if got := fmt.Sprintf("%d %v", code, r["error"]); got != c.want {
				t.Errorf("%s with a NUL: %s, want %s", c.path, got, c.want)
			}
		}
		th, err := e.svc.store.Throttle(context.Background(), e.svc.signinCounters("a\x00b", "")[0].key)
		if err != nil || th.Failures != 1 {
			t.Errorf("the user name's counter: %+v, %v; want 1 failure", th, err)
		}
	})
}
