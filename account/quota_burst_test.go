package account

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

func TestQuotaError_Error(t *testing.T) {
	for _, c := range []struct {
		e    QuotaError
		want string
	}{
		{QuotaError{Used: 600, Quota: 1000}, "storage quota reached (600 of 1000 B)"},
		{QuotaError{Used: 0, Reserved: 800 << 10, Quota: 1 << 20}, "storage quota reached (0 B stored and 800 KiB held by uploads in progress, of 1 MiB)"},
		{QuotaError{Used: 52506321715, Reserved: 1 << 30, Quota: 50 << 30},
			"storage quota reached (48.9 GiB stored and 1 GiB held by uploads in progress, of 50 GiB)"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.e, got, c.want)
		}
	}
}

// A burst of parallel puts against a quota: those refused because the
// others' uploads hold the space say so, with used (0) and reserved in the
// answer.
func TestGate_QuotaBurstCountsReservations(t *testing.T) {
	s3 := startMinIOServer(t)
	forEachStore(t, func(t *testing.T, newEnv func(testing.TB) *env) {
		const quota, size, n = 1 << 20, 400 << 10, 30
		ge := gateOn(newEnv(t), s3, 30*time.Second, quota)
		d := ge.connectDevice("", "laptop")
		body := make([]byte, size)
		type refusal struct {
			status int
			out    map[string]any
		}
		refused := make(chan refusal, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req := wire.GrantRequest{Ops: []wire.Op{putOp(fmt.Sprintf("%s/laptop/%d.jpg", d.account, i), body)}}
				got, out := postAnswer(t, ge.api+wire.PathStorageGrant, d.access, req)
				if got.status != http.StatusOK {
					refused <- refusal{got.status, out}
				}
			})
		}
		wg.Wait()
		close(refused)
		if len(refused) != n-2 {
			t.Errorf("%d of %d puts of 400 KiB refused with a quota of 1 MiB, want %d", len(refused), n, n-2)
		}
		const msg = "storage quota reached (0 B stored and 800 KiB held by uploads in progress, of 1 MiB)"
		for r := range refused {
			if r.status != http.StatusForbidden || r.out["error"] != wire.ErrCodeQuotaExceeded || r.out["message"] != msg ||
				r.out["used"] != float64(0) || r.out["reserved"] != float64(800<<10) || r.out["quota"] != float64(quota) {
				t.Errorf("a refused put: %d %v, want 403 quota_exceeded %q used 0 reserved 819200 quota 1048576", r.status, r.out, msg)
			}
		}
	})
}
