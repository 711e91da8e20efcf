package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// testMoveDeviceAuth: a status moves only from the expected one, before
// expiry, and of 50 racing moves exactly one wins.
func testMoveDeviceAuth(t *testing.T, s account.Store) {
	now := time.Unix(2000, 0)
	d := account.DeviceAuth{CodeHash: "mv1", UserCode: "MMMM-MMM1", DeviceName: "tablet", Status: "pending", Expires: now.Add(time.Minute)}
	if err := s.PutDeviceAuth(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.MoveDeviceAuth(ctx, "mv1", "approved", "issued", "", now); ok || err != nil {
		t.Errorf("moved from the wrong status: %v, %v", ok, err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if ok, err := s.MoveDeviceAuth(ctx, "mv1", "pending", "approved", "1000000009", now); ok && err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	got, err := s.DeviceAuth(ctx, "mv1")
	if wins.Load() != 1 || err != nil || got.Status != "approved" || got.AccountID != "1000000009" {
		t.Errorf("got %d wins, %+v, %v; want 1 win, approved for 1000000009", wins.Load(), got, err)
	}
	if ok, _ := s.MoveDeviceAuth(ctx, "mv1", "approved", "issued", "", now.Add(time.Minute)); ok {
		t.Error("an expired authorization moved")
	}
}

// testAddDevice: a new device's name is unique among the account's
// connected devices, decided by the store even for racing inserts; a
// disconnected device frees its name, another account may use it.
func testAddDevice(t *testing.T, s account.Store) {
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			d := account.Device{ID: "add" + string(rune('a'+i%26)) + string(rune('a'+i/26)), AccountID: "1000000020", Name: "desk"}
			if err := s.AddDevice(ctx, d); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, account.ErrExists) {
				t.Errorf("add %s: %v", d.ID, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d devices named desk added, want 1", wins.Load())
	}
	if err := s.AddDevice(ctx, account.Device{ID: "add-other", AccountID: "1000000021", Name: "desk"}); err != nil {
		t.Errorf("another account's desk: %v", err)
	}
	devs, _ := s.Devices(ctx, "1000000020")
	devs[0].Revoked = true
	if err := s.PutDevice(ctx, devs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDevice(ctx, account.Device{ID: "add-again", AccountID: "1000000020", Name: "desk"}); err != nil {
		t.Errorf("desk after the first was disconnected: %v", err)
	}
	// Writing the disconnected one back as connected must not push the
	// new desk out.
	devs[0].Revoked = false
	if err := s.PutDevice(ctx, devs[0]); !errors.Is(err, account.ErrExists) {
		t.Errorf("the old desk written back as connected: %v, want ErrExists", err)
	}
	if d, err := s.Device(ctx, "add-again"); err != nil || d.Revoked {
		t.Errorf("the new desk after that: %+v, %v", d, err)
	}
}
