package storetest

import (
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// testApprovedDeviceAuths: only the account's approved, unexpired
// authorizations are listed, by device name.
func testApprovedDeviceAuths(t *testing.T, s account.Store) {
	now := time.Unix(1000, 0)
	for _, d := range []account.DeviceAuth{
		{CodeHash: "h1", UserCode: "BBBB-BBB1", DeviceName: "phone", AccountID: "1000000001", Status: "approved", Expires: now.Add(time.Minute)},
		{CodeHash: "h2", UserCode: "BBBB-BBB2", DeviceName: "laptop", AccountID: "1000000001", Status: "approved", Expires: now.Add(time.Minute)},
		{CodeHash: "h3", UserCode: "BBBB-BBB3", DeviceName: "pending", AccountID: "", Status: "pending", Expires: now.Add(time.Minute)},
		{CodeHash: "h4", UserCode: "BBBB-BBB4", DeviceName: "issued", AccountID: "1000000001", Status: "issued", Expires: now.Add(time.Minute)},
		{CodeHash: "h5", UserCode: "BBBB-BBB5", DeviceName: "denied", AccountID: "1000000001", Status: "denied", Expires: now.Add(time.Minute)},
		{CodeHash: "h6", UserCode: "BBBB-BBB6", DeviceName: "expired", AccountID: "1000000001", Status: "approved", Expires: now},
		{CodeHash: "h7", UserCode: "BBBB-BBB7", DeviceName: "other", AccountID: "1000000002", Status: "approved", Expires: now.Add(time.Minute)},
	} {
		if err := s.PutDeviceAuth(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ApprovedDeviceAuths(ctx, "1000000001", now)
	var names []string
	for _, d := range got {
		names = append(names, d.DeviceName)
	}
	if err != nil || len(names) != 2 || names[0] != "laptop" || names[1] != "phone" {
		t.Errorf("got %v, %v, want [laptop phone]", names, err)
	}
}
