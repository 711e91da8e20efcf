// Package storetest is the shared test suite every account.Store must pass.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// Run runs the suite against stores made by open, a fresh one per test.
func Run(t *testing.T, open func(t *testing.T) account.Store) {
	for name, test := range map[string]func(*testing.T, account.Store){
		"Accounts":            testAccounts,
		"Codes":               testCodes,
		"Budgets":             testBudgets,
		"Devices":             testDevices,
		"DeviceAuths":         testDeviceAuths,
		"ApprovedDeviceAuths": testApprovedDeviceAuths,
		"MoveDeviceAuth":      testMoveDeviceAuth,
		"AddDevice":           testAddDevice,
		"Throttles":           testThrottles,
		"Sessions":            testSessions,
		"CodeTries":           testCodeTries,
		"Parallel":            testParallel,
		"Phones":              testPhones,
		"Rotation":            testRotation,
		"Prune":               testPrune,
		"SigningKeys":         testSigningKeys,
		"RetireSigningKeys":   testRetireSigningKeys,
		"Replicas":            testReplicas,
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			test(t, s)
		})
	}
}

var ctx = context.Background()

func testAccounts(t *testing.T, s account.Store) {
	birth := time.Date(1990, 4, 1, 0, 0, 0, 0, time.UTC)
	a := account.Account{ID: "1000000001", Email: "a@example.com", Region: "DE", BirthDate: birth, PasswordHash: "h", Created: time.Unix(100, 0)}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := account.Account{ID: "1000000002", Phone: "+4915112345678", Region: "DE", BirthDate: birth, PasswordHash: "h"}
	if err := s.CreateAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	dup := b
	dup.ID = "1000000003"
	if err := s.CreateAccount(ctx, dup); !errors.Is(err, account.ErrExists) {
		t.Errorf("same phone twice: got %v, want ErrExists", err)
	}
	dup.ID = "1000000001"
	dup.Phone = "+4915100000000"
	if err := s.CreateAccount(ctx, dup); !errors.Is(err, account.ErrExists) {
		t.Errorf("same id twice: got %v, want ErrExists", err)
	}
	got, err := s.AccountByAddress(ctx, "a@example.com")
	if err != nil || got.ID != a.ID || !got.BirthDate.Equal(birth) || got.Phone != "" {
		t.Errorf("by email: got %+v, %v", got, err)
	}
	if got, err := s.AccountByAddress(ctx, "+4915112345678"); err != nil || got.ID != b.ID {
		t.Errorf("by phone: got %+v, %v", got, err)
	}
	if got, err := s.AccountByID(ctx, b.ID); err != nil || got.Phone != b.Phone {
		t.Errorf("by id: got %+v, %v", got, err)
	}
	if _, err := s.AccountByAddress(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("missing: got %v, want ErrNotFound", err)
	}
}

func testCodes(t *testing.T, s account.Store) {
	c := account.Code{ID: "c1", Purpose: "signup", Address: "a@example.com", Hash: "x", Expires: time.Unix(1000, 0), Data: "{}"}
	if err := s.PutCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Tries, c.Verified = 2, true
	if err := s.PutCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Code(ctx, "c1")
	if err != nil || got.Tries != 2 || !got.Verified || !got.Expires.Equal(c.Expires) {
		t.Errorf("got %+v, %v", got, err)
	}
	s.DeleteCode(ctx, "c1")
	if _, err := s.Code(ctx, "c1"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func testDevices(t *testing.T, s account.Store) {
	d := account.Device{ID: "d1", AccountID: "1000000001", Name: "laptop", ClientID: "c", RefreshHash: "r1", Created: time.Unix(5, 0)}
	s.PutDevice(ctx, d)
	d.PreviousHash, d.RefreshHash = "r1", "r2"
	s.PutDevice(ctx, d)
	for _, h := range []string{"r1", "r2"} {
		if got, err := s.DeviceByRefresh(ctx, h); err != nil || got.ID != "d1" {
			t.Errorf("by refresh %s: %+v, %v", h, got, err)
		}
	}
	if _, err := s.DeviceByRefresh(ctx, "r0"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown refresh: %v", err)
	}
	s.PutDevice(ctx, account.Device{ID: "d2", AccountID: "1000000001", Name: "phone", Created: time.Unix(6, 0)})
	s.PutDevice(ctx, account.Device{ID: "d3", AccountID: "other", Name: "x"})
	list, err := s.Devices(ctx, "1000000001")
	if err != nil || len(list) != 2 || list[0].ID != "d1" || list[1].ID != "d2" {
		t.Errorf("devices: %+v, %v", list, err)
	}
}

func testDeviceAuths(t *testing.T, s account.Store) {
	d := account.DeviceAuth{CodeHash: "h1", UserCode: "BCDF-GHJK", ClientID: "c", DeviceName: "laptop", Status: "pending",
		Expires: time.Unix(1000, 0), Interval: 5 * time.Second}
	if err := s.PutDeviceAuth(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDeviceAuth(ctx, account.DeviceAuth{CodeHash: "h2", UserCode: "BCDF-GHJK"}); !errors.Is(err, account.ErrExists) {
		t.Errorf("same user code twice: %v", err)
	}
	d.Status, d.AccountID = "approved", "1000000001"
	s.PutDeviceAuth(ctx, d)
	got, err := s.DeviceAuthByUserCode(ctx, "BCDF-GHJK")
	if err != nil || got.Status != "approved" || got.Interval != 5*time.Second {
		t.Errorf("by user code: %+v, %v", got, err)
	}
	if got, err := s.DeviceAuth(ctx, "h1"); err != nil || got.AccountID != "1000000001" {
		t.Errorf("by code: %+v, %v", got, err)
	}
}

func testSessions(t *testing.T, s account.Store) {
	s.PutSession(ctx, "s1", "1000000001", time.Unix(100, 0))
	if id, err := s.Session(ctx, "s1", time.Unix(50, 0)); err != nil || id != "1000000001" {
		t.Errorf("live session: %q, %v", id, err)
	}
	if _, err := s.Session(ctx, "s1", time.Unix(150, 0)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	s.DeleteSession(ctx, "s1")
	if _, err := s.Session(ctx, "s1", time.Unix(50, 0)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
}
