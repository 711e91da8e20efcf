package account

import (
	"context"
	"strings"
	"testing"
	"time"
)

// An approved device code is collected once, even by a burst of polls: one
// device is connected, every other poll is refused.
func TestConcurrency_DeviceCodeCollectedOnce(t *testing.T) {
	forEachStore(t, testDeviceCodeCollectedOnce)
}

func testDeviceCodeCollectedOnce(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	acct := e.signup("poll@example.com", "goodpass1")
	_, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "laptop"})
	if err := e.svc.ApproveDevice(context.Background(), strings.ToLower(d["user_code"].(string)), acct, true); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(11 * time.Second)
	poll := map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent", "device_code": d["device_code"].(string)}
	got := tally(burst(burstSize, func(int) (int, map[string]any) { return e.call("POST", "/api/v1/token", poll) }))
	if got["200 <nil>"] != 1 || got["400 invalid_grant"] != burstSize-1 {
		t.Errorf("burst of polls: %v, want one 200 and %d invalid_grant", got, burstSize-1)
	}
	if devs, _ := e.svc.Devices(context.Background(), acct); len(devs) != 1 {
		t.Errorf("got %d devices connected, want 1", len(devs))
	}
}

// Two answers racing for one user code: exactly one is taken.
func TestConcurrency_DeviceApprovedOnce(t *testing.T) { forEachStore(t, testDeviceApprovedOnce) }

func testDeviceApprovedOnce(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	acct := e.signup("answer@example.com", "goodpass1")
	_, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "nas"})
	code := strings.ToLower(d["user_code"].(string))
	got := tally(burst(burstSize, func(i int) (int, map[string]any) {
		if err := e.svc.ApproveDevice(context.Background(), code, acct, i%2 == 0); err != nil {
			return 400, map[string]any{"error": "refused"}
		}
		return 200, map[string]any{}
	}))
	if got["200 <nil>"] != 1 {
		t.Errorf("answers taken: %v, want exactly one", got)
	}
}
