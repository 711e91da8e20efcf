package account

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// A 2 MiB photo's checksum and metadata, the same for every op: the client
// side of the measurement costs next to nothing.
var (
	photoCRC  = crc32cOf(make([]byte, 2<<20))
	photoMeta = &wire.Meta{SHA256: strings.Repeat("ab", 32), MTime: "2024-05-01T10:00:00Z", Device: "laptop", ContentType: "image/jpeg"}
)

// grantLoad is what measureGrants measured.
type grantLoad struct {
	calls, ops    int
	elapsed       time.Duration
	p50, p95, max time.Duration
}

func (l grantLoad) String() string {
	return fmt.Sprintf("%d grant calls (%d put ops) in %s: %.0f calls/s, %.0f ops/s, p50 %s, p95 %s, max %s",
		l.calls, l.ops, l.elapsed.Round(time.Millisecond), float64(l.calls)/l.elapsed.Seconds(), float64(l.ops)/l.elapsed.Seconds(),
		l.p50.Round(10*time.Microsecond), l.p95.Round(10*time.Microsecond), l.max.Round(10*time.Microsecond))
}

// measureGrants has devices devices (each of its own account) ask for
// rounds batches of batch put grants at once, and measures each call.
func measureGrants(t testing.TB, devices, rounds, batch int) grantLoad {
	ge := newGateEnv(t, s3Server{endpoint: "127.0.0.1:1", bucket: "photos", accessKey: "k", secretKey: "s"}, time.Minute, 1<<40)
	ds := make([]device, devices)
	for i := range ds {
		ds[i] = ge.connectDevice("", fmt.Sprintf("d%d", i))
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for _, d := range ds {
		wg.Go(func() {
			for r := range rounds {
				ops := make([]wire.Op, batch)
				for i := range ops {
					ops[i] = wire.Op{Op: wire.OpPut, Key: fmt.Sprintf("%s/laptop/%d/IMG_%04d.jpg", d.account, r, i),
						Size: 2 << 20, CRC32C: photoCRC, Meta: photoMeta}
				}
				t0 := time.Now()
				code, _, bad := grantCall(t, ge.api, d.access, wire.GrantRequest{Ops: ops})
				took := time.Since(t0)
				if code != 200 {
					t.Errorf("grant: %d %+v", code, bad)
					return
				}
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l := grantLoad{calls: len(lat), ops: len(lat) * batch, elapsed: time.Since(start)}
	slices.Sort(lat)
	if len(lat) > 0 {
		l.p50, l.p95, l.max = lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1]
	}
	return l
}

// TestGate_GrantLoad is the short form of BenchmarkGrant: 50 devices at
// once, each asking for batches of 20 puts.
func TestGate_GrantLoad(t *testing.T) {
	l := measureGrants(t, 50, 4, 20)
	t.Logf("50 devices, batches of 20 puts: %s", l)
	if l.calls != 200 {
		t.Errorf("%d calls answered, want 200", l.calls)
	}
}

// BenchmarkGrant measures the grant endpoint with 50 concurrent devices,
// each asking b.N times for a batch of 50 put grants (run by make bench).
func BenchmarkGrant(b *testing.B) {
	l := measureGrants(b, 50, b.N, 50)
	b.Logf("50 devices, batches of 50 puts: %s", l)
	b.ReportMetric(float64(l.calls)/l.elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(l.ops)/l.elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(l.p95.Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(l.p50.Microseconds())/1000, "p50-ms")
}
