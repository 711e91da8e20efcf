package account_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// Every kind of row a SQLite store holds reads back the same from
// PostgreSQL after CopyStore: flags, dates, absent addresses, times to the
// nanosecond, reservations with their signed grant, parts and usage
// (counted once, not again by the triggers). A second copy is refused
// unless forced, and a forced one replaces rather than adds.
func TestCopyStore(t *testing.T) {
	ctx := context.Background()
	src, err := account.OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := account.OpenCopyTarget(ctx, pgtest.DB(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	now := time.Now()
	fill(t, src, now)

	counts, err := account.CopyStore(ctx, src, dst, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, c := range counts {
		rows[c.Table] = c.Rows
	}
	for table, want := range map[string]int64{"accounts": 2, "codes": 1, "devices": 2, "device_auths": 1, "sessions": 1,
		"objects": 2, "usage": 1, "quotas": 1, "reservations": 1, "upload_parts": 1} {
		if rows[table] != want {
			t.Errorf("%s: copied %d row(s), want %d", table, rows[table], want)
		}
	}
	sameRows(t, src, dst, now)

	var has *account.TargetHasAccountsError
	if _, err := account.CopyStore(ctx, src, dst, false); !errors.As(err, &has) || has.Accounts != 2 {
		t.Errorf("a second copy: %v, want the 2 accounts already there named", err)
	}
	if _, err := account.CopyStore(ctx, src, dst, true); err != nil {
		t.Fatalf("a forced second copy: %v", err)
	}
	sameRows(t, src, dst, now)
}

// CopyStore refuses, forced or not, a target the service is connected
// to, naming how many connections and from where; its own connections do
// not count.
func TestCopyStore_RefusesTargetInUse(t *testing.T) {
	ctx := context.Background()
	src, err := account.OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db := pgtest.DB(t)
	dst, err := account.OpenCopyTarget(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	replica, err := account.OpenPostgres(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		_, err := account.CopyStore(ctx, src, dst, force)
		want := "the target database is in use by 1 cloudkeep-accounts connection (127.0.0.1): stop every replica first"
		if inUse, ok := errors.AsType[*account.TargetInUseError](err); !ok || inUse.Error() != want {
			t.Errorf("force %v, a replica connected: got %v, want %s", force, err, want)
		}
	}
	replica.Close()
	// The server ends a closed connection's backend a moment after the
	// client has gone: until then it is still listed.
	_, err = account.CopyStore(ctx, src, dst, false)
	for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
		if _, ok := errors.AsType[*account.TargetInUseError](err); !ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
		_, err = account.CopyStore(ctx, src, dst, false)
	}
	if err != nil {
		t.Errorf("the replica gone: %v", err)
	}
}

// OpenCopySource opens only an accounts database of this schema, and
// leaves any other file as it was.
func TestOpenCopySource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"empty.db", "", ": not a cloudkeep accounts database (no tables)"},
		{"text.db", strings.Repeat("some notes, not a database. ", 10), ": not a SQLite database"},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, []byte(tc.content), 0o600)
		_, err := account.OpenCopySource(ctx, path)
		if _, ok := errors.AsType[*account.SourceError](err); !ok || err.Error() != path+tc.want {
			t.Errorf("%s: got %v, want %s%s", tc.name, err, path, tc.want)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.content {
			t.Errorf("%s: now %d bytes, want it as it was", tc.name, len(got))
		}
	}
	path := filepath.Join(dir, "accounts.db")
	s, err := account.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = account.OpenCopySource(ctx, path)
	if err != nil {
		t.Fatalf("an accounts database: %v", err)
	}
	defer s.Close()
	if err := s.CreateAccount(ctx, account.Account{ID: "1"}); err == nil {
		t.Error("a write to the source succeeded, want it read only")
	}
}

// fill stores one of each kind of row.
func fill(t *testing.T, s *account.SQLite, now time.Time) {
	ctx := context.Background()
	birth := time.Date(1990, 4, 1, 0, 0, 0, 0, time.UTC)
	check := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check("account", s.CreateAccount(ctx, account.Account{ID: "1001", Email: "ann@example.com", Region: "DE", BirthDate: birth, PasswordHash: "h1", Created: now}))
	check("account", s.CreateAccount(ctx, account.Account{ID: "1002", Phone: "+4915112345678", Region: "AT", BirthDate: birth, PasswordHash: "h2", Created: now}))
	check("code", s.PutCode(ctx, account.Code{ID: "c1", Purpose: "signup", Address: "ann@example.com", Kind: account.KindEmail, Hash: "x",
		Expires: now.Add(time.Hour), Tries: 2, Verified: true, Sent: now, Data: `{"region":"DE"}`}))
	check("device", s.AddDevice(ctx, account.Device{ID: "d1", AccountID: "1001", Name: "laptop", ClientID: "cloudkeep-agent",
		RefreshHash: "r1", PreviousHash: "r0", RefreshUntil: now.Add(time.Hour), Rotated: now, GracePair: "sealed", Created: now, LastSeen: now}))
	check("device", s.PutDevice(ctx, account.Device{ID: "d2", AccountID: "1001", Name: "laptop", ClientID: "cloudkeep-agent",
		RefreshHash: "r2", Created: now, LastSeen: now, Revoked: true}))
	check("device auth", s.PutDeviceAuth(ctx, account.DeviceAuth{CodeHash: "dc", UserCode: "ABCD-EFGH", ClientID: "cloudkeep-agent",
		DeviceName: "tablet", AccountID: "1001", Status: "approved", Expires: now.Add(time.Minute), Interval: 5 * time.Second, LastPoll: now}))
	check("session", s.PutSession(ctx, "s1", "1001", now.Add(time.Hour)))
	check("quota", s.SetQuota(ctx, "1001", 50<<30))
	for i, key := range []string{"1001/laptop/a.jpg", "1001/laptop/b.jpg"} {
		check("object", s.PutObject(ctx, account.StoredObject{AccountID: "1001", Key: key, Size: int64(1000 + i), ETag: "e", SHA256: "s",
			MTime: "2026-01-02T03:04:05Z", Device: "laptop", Updated: now, Capture: "2025-12-31T23:59:59.5+09:00",
			CaptureSource: "exif", Group: "0123456789abcdef", Motion: i == 1}, ""))
	}
	ok, err := s.Reserve(ctx, "1001", []account.Reservation{{ID: "upload:u1", Key: "1001/laptop/v.mp4", Size: 20 << 20,
		Expires: now.Add(time.Hour), Grant: &wire.Object{Key: "1001/laptop/v.mp4", Size: 20 << 20}}}, 0, now)
	check("reserve", err)
	granted, err := s.GrantPart(ctx, "1001", "u1", "1001/laptop/v.mp4", 1, 5<<20, now)
	check("grant part", err)
	if !ok || !granted {
		t.Fatalf("reserve %v, grant part %v: want both", ok, granted)
	}
}

// sameRows reads every row fill stored from both stores and compares.
func sameRows(t *testing.T, src, dst interface {
	account.Store
	account.ObjectStore
}, now time.Time) {
	t.Helper()
	ctx := context.Background()
	read := func(s interface {
		account.Store
		account.ObjectStore
	}) []any {
		var out []any
		add := func(v any, err error) { out = append(out, v, err) }
		add(s.AccountByID(ctx, "1001"))
		add(s.AccountByAddress(ctx, "+4915112345678"))
		add(s.Code(ctx, "c1"))
		add(s.Devices(ctx, "1001"))
		add(s.DeviceAuth(ctx, "dc"))
		add(s.Session(ctx, "s1", now))
		add(s.IndexedObjects(ctx, "1001", "1001/", "1001/~"))
		add(s.Usage(ctx, "1001", 0, now))
		add(s.Reservations(ctx, "1001", []string{"upload:u1"}))
		return out
	}
	got, want := read(dst), read(src)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("read %d from PostgreSQL: got %+v, want %+v as in SQLite", i/2, got[i], want[i])
		}
	}
}
