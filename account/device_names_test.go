package account

import (
	"context"
	"testing"
)

// Two devices of one account under one name would write the same keys and
// overwrite each other's files: the second is refused, with what to do,
// until the first is disconnected; other accounts may use the name.
func TestConnect_DeviceNameTaken(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("names@example.com", "goodpass1")
	first := e.connect("names@example.com", "goodpass1", "names@example.com", "laptop")

	code, r := e.call("POST", "/api/v1/signin", map[string]string{"username": "names@example.com", "password": "goodpass1"})
	if code != 200 {
		t.Fatalf("signin: %d %v", code, r)
	}
	code, r = e.call("POST", "/api/v1/signin/verify", map[string]string{"challenge_id": r["challenge_id"].(string),
		"code": e.lastCode("names@example.com"), "client_id": "cloudkeep-agent", "device_name": "laptop"})
	want := `A device named "laptop" is already connected to this account: give this one another name (device.name in its config), or disconnect the old one on the account page first.`
	if code != 409 || r["error"] != "device_name_taken" || r["message"] != want {
		t.Fatalf("second laptop: %d %v, want 409 device_name_taken %q", code, r, want)
	}
	if err := e.svc.Disconnect(context.Background(), acct, first["device_id"].(string)); err != nil {
		t.Fatal(err)
	}
	e.connect("names@example.com", "goodpass1", "names@example.com", "laptop") // now free

	e.signup("other@example.com", "goodpass1")
	e.connect("other@example.com", "goodpass1", "other@example.com", "laptop") // another account's laptop
}

// A burst of connects under one name: exactly one device is connected.
func TestConcurrency_DeviceNameOnce(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("burst-names@example.com", "goodpass1")
	got := tally(burst(burstSize, func(int) (int, map[string]any) {
		_, err := e.svc.Connect(context.Background(), acct, "cloudkeep-agent", "nas")
		if isErr(err, deviceNameTaken("nas")) {
			return 409, map[string]any{"error": "device_name_taken"}
		}
		if err != nil {
			return 500, map[string]any{"error": err.Error()}
		}
		return 200, map[string]any{}
	}))
	if got["200 <nil>"] != 1 || got["409 device_name_taken"] != burstSize-1 {
		t.Errorf("connects: %v, want one 200 and %d device_name_taken", got, burstSize-1)
	}
	if devs, _ := e.svc.Devices(context.Background(), acct); len(devs) != 1 {
		t.Errorf("got %d devices, want 1", len(devs))
	}
}

// addHook is a Store that runs after once the first AddDevice is done.
type addHook struct {
	Store
	after func(Device)
}

func (h *addHook) AddDevice(ctx context.Context, d Device) error {
	err := h.Store.AddDevice(ctx, d)
	if f := h.after; err == nil && f != nil {
		h.after = nil
		f(d)
	}
	return err
}

// A device disconnected while it connects, and another connected under
// its name meanwhile: the first stays disconnected and the other is kept.
func TestConnect_DisconnectedWhileConnecting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acct := e.signup("race-names@example.com", "goodpass1")
	var second Tokens
	e.svc.store = &addHook{Store: e.svc.store, after: func(d Device) {
		if err := e.svc.Disconnect(ctx, acct, d.ID); err != nil {
			t.Fatal(err)
		}
		var err error
		if second, err = e.svc.Connect(ctx, acct, "cloudkeep-agent", "laptop"); err != nil {
			t.Fatalf("second laptop after the first was disconnected: %v", err)
		}
	}}
	if _, err := e.svc.Connect(ctx, acct, "cloudkeep-agent", "laptop"); err != nil {
		t.Fatalf("first laptop: %v", err)
	}
	devs, err := e.svc.Devices(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != second.DeviceID {
		t.Errorf("connected devices %+v, want only the second laptop %s", devs, second.DeviceID)
	}
}
