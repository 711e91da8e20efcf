package account

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSignin measures full sign-ins (password, then the code from the
// real SMTP server) from 8 clients at once; run with -benchtime 300x or
// less (each of the 64 accounts gets at most 10 codes a day).
func BenchmarkSignin(b *testing.B) {
	e := newEnv(b)
	const accounts = 64
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = e.signup(fmt.Sprintf("user%d@example.com", i), "goodpass1")
	}
	var next atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % accounts
			addr := fmt.Sprintf("user%d@example.com", i)
			code, r := e.callFrom(clientFor(addr), "POST", "/api/v1/signin", map[string]string{"username": ids[i], "password": "goodpass1"})
			if code != 200 {
				b.Errorf("signin: %d %v", code, r)
				return
			}
			challenge := r["challenge_id"].(string)
			pin := e.lastCodeFor(addr, challenge)
			if code, r := e.callFrom(clientFor(addr), "POST", "/api/v1/signin/verify", map[string]string{"challenge_id": challenge, "code": pin,
				"client_id": "cloudkeep-agent", "device_name": "bench"}); code != 200 {
				b.Errorf("verify: %d %v", code, r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
}

// BenchmarkTokenRefresh measures the token endpoint under 50 concurrent
// clients, each refreshing its own device's tokens, and reports the p95.
func BenchmarkTokenRefresh(b *testing.B) {
	e := newEnv(b)
	acct := e.signup("tok@example.com", "goodpass1")
	const clients = 50
	refresh := make([]string, clients)
	for i := range refresh {
		t, err := e.svc.Connect(context.Background(), acct, "cloudkeep-agent", fmt.Sprintf("device-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		refresh[i] = t.RefreshToken
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				code, r := e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantRefresh,
					"client_id": "cloudkeep-agent", "refresh_token": refresh[c]})
				d := time.Since(t0)
				if code != 200 {
					b.Errorf("refresh: %d %v", code, r)
					return
				}
				refresh[c] = r["refresh_token"].(string)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
}
