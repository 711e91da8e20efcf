package account

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

func startMinIOServer(t *testing.T) s3Server {
	m := miniotest.Start(t)
	return s3Server{name: "minio", endpoint: m.Endpoint, bucket: m.Bucket, accessKey: m.AccessKey, secretKey: m.SecretKey, admin: m.Client}
}

func TestGate_Quota(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	ge.putObject(d, d.account+"/laptop/a.jpg", make([]byte, 600))

	// 600 used: a 300-byte put fits, then a 200-byte one does not.
	code, res, _ := ge.grant(d, putOp(d.account+"/laptop/b.jpg", make([]byte, 300)))
	if code != 200 || res.Results[0].Error != nil {
		t.Fatalf("a put within the quota: %d %+v", code, res)
	}
	code, _, bad := ge.grant(d, wire.Op{Op: wire.OpGet, Key: d.account + "/laptop/a.jpg"}, putOp(d.account+"/laptop/c.jpg", make([]byte, 200)))
	if code != http.StatusForbidden || bad.Code != wire.ErrCodeQuotaExceeded || bad.Used != 600 || bad.Quota != 1000 ||
		bad.Message != "storage quota reached (600 B stored and 300 B held by uploads in progress, of 1000 B)" {
		t.Fatalf("a put over the quota: %d %+v, want 403 quota_exceeded used 600 (and 300 held) quota 1000", code, bad)
	}
	code, _, bad = ge.grant(d, wire.Op{Op: wire.OpCreate, Key: d.account + "/laptop/v.mp4", Size: 500})
	if code != http.StatusForbidden || bad.Code != wire.ErrCodeQuotaExceeded {
		t.Errorf("a multipart upload over the quota: %d %+v", code, bad)
	}
	// A copy over the quota is refused for that op alone.
	cp := ge.one(d, wire.Op{Op: wire.OpCopy, Source: d.account + "/laptop/a.jpg", Key: d.account + "/laptop/a2.jpg"})
	if cp.Error == nil || cp.Error.Code != wire.ErrCodeQuotaExceeded {
		t.Errorf("a copy over the quota: %+v", cp.Error)
	}

	// Raising the quota (the `quota` command's code path) lets it through.
	u, err := ge.gate.SetQuota(ctx, d.account, 2000)
	if err != nil || u.Quota != 2000 || u.Used != 600 {
		t.Fatalf("set quota: %+v %v", u, err)
	}
	if code, res, bad := ge.grant(d, putOp(d.account+"/laptop/c.jpg", make([]byte, 200))); code != 200 || res.Results[0].Error != nil {
		t.Errorf("after raising the quota: %d %+v", code, bad)
	}
	// 0 means no limit.
	if _, err := ge.gate.SetQuota(ctx, d.account, 0); err != nil {
		t.Fatal(err)
	}
	if code, _, bad := ge.grant(d, putOp(d.account+"/laptop/d.jpg", make([]byte, 1<<20))); code != 200 {
		t.Errorf("without a limit: %d %+v", code, bad)
	}
}

func TestGate_QuotaBurstReservesExactly(t *testing.T) { forEachStore(t, testQuotaBurstReservesExactly) }

func testQuotaBurstReservesExactly(t *testing.T, newEnv func(testing.TB) *env) {
	const k, n, size = 37, 120, 1000
	ge := gateOn(newEnv(t), s3Server{endpoint: "127.0.0.1:1", bucket: "photos", accessKey: "k", secretKey: "s"}, 30*time.Second, k*size)
	var devices []device
	acct := ""
	for i := range 10 {
		d := ge.connectDeviceTo(acct, fmt.Sprintf("d%d", i))
		acct = d.account
		devices = append(devices, d)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			code, _, bad := grantCall(t, ge.api, devices[i%len(devices)].access,
				wire.GrantRequest{Ops: []wire.Op{putOp(fmt.Sprintf("%s/d/%d.jpg", acct, i), make([]byte, size))}})
			switch {
			case code == 200:
				ok.Add(1)
			case code == 403 && bad.Code == wire.ErrCodeQuotaExceeded:
				refused.Add(1)
			default:
				t.Errorf("grant %d: %d %+v", i, code, bad)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != k || refused.Load() != n-k {
		t.Errorf("%d parallel puts against room for %d: %d granted, %d refused", n, k, ok.Load(), refused.Load())
	}
	if u, _ := ge.gate.Usage(context.Background(), acct); u.Reserved != k*size {
		t.Errorf("reserved %d, want %d", u.Reserved, k*size)
	}
}

func TestUsageText(t *testing.T) {
	for _, tc := range []struct {
		u    Usage
		want string
	}{
		{Usage{Used: 1288490189, Quota: 50 << 30}, "1.2 GiB of 50 GiB used"},
		{Usage{Used: 0, Quota: 0}, "0 B used"},
		{Usage{Used: 1536}, "1.5 KiB used"},
	} {
		if got := UsageText(tc.u); got != tc.want {
			t.Errorf("UsageText(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
	if got := (&QuotaError{Used: 52506321715, Quota: 50 << 30}).Error(); got != "storage quota reached (48.9 of 50 GiB)" {
		t.Errorf("quota message %q", got)
	}
}

func TestGate_Recount(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	o := ge.putObject(d, d.account+"/laptop/a.jpg", []byte("counted"))
	ge.adminPut(d.account+"/laptop/uncommitted.jpg", []byte("put but never committed"))
	ge.adminPut(d.account+"x/other.jpg", []byte("not this account"))
	u, err := ge.gate.Recount(ctx, d.account)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len("counted") + len("put but never committed"))
	if u.Used != want || u.Objects != 2 {
		t.Errorf("after recount: %+v, want %d bytes in 2 objects", u, want)
	}
	rows, _ := ge.gate.store.IndexedObjects(ctx, d.account, d.account+"/", d.account+"/\U0010FFFF")
	if len(rows) != 2 || rows[0].SHA256 != o.Meta.SHA256 {
		t.Errorf("index after recount: %+v", rows)
	}
	page := ge.accountPage(d.account)
	if !strings.Contains(page, "30 B used") {
		t.Errorf("the account page does not show the usage:\n%s", page)
	}
}

// accountPage returns the account page as its owner sees it.
func (ge *gateEnv) accountPage(account string) string {
	ge.t.Helper()
	session, _ := ge.svc.NewSession(context.Background(), account)
	req, _ := http.NewRequest("GET", ge.api+"/account", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ge.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// connectDeviceTo connects another device to account (a new account when
// empty).
func (ge *gateEnv) connectDeviceTo(account, name string) device {
	ge.t.Helper()
	if account == "" {
		return ge.connectDevice("", name)
	}
	tok, err := ge.svc.Connect(context.Background(), account, "cloudkeep-agent", name)
	if err != nil {
		ge.t.Fatal(err)
	}
	return device{account: account, id: tok.DeviceID, access: tok.AccessToken, refresh: tok.RefreshToken}
}

// TestGate_QuotaHoldsUndeclaredUploads: a multipart upload that turns out
// bigger than its declared size counts against the quota all the same.
func TestGate_QuotaHoldsUndeclaredUploads(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	key := d.account + "/laptop/v.mp4"
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: 100})
	if cr.Error != nil {
		t.Fatal(cr.Error)
	}
	body := make([]byte, 2000)
	ge.adminPart(key, cr.UploadID, 1, body) // more than declared: the gate grants no such part
	lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
	cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID,
		Parts: []wire.Part{{Number: 1, Size: 2000, ETag: lp.Parts[0].ETag, CRC32C: crc32cOf(body)}}})
	if cm.Error == nil || cm.Error.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("complete of 2000 bytes declared as 100 under a quota of 1000: %+v", cm.Error)
	}
	if st := ge.one(d, wire.Op{Op: wire.OpStat, Key: key}); st.Error == nil || st.Error.Code != wire.ErrCodeNotFound {
		t.Errorf("the object over the quota was kept: %+v", st.Error)
	}
	if u, _ := ge.gate.Usage(context.Background(), d.account); u.Used != 0 || u.Reserved != 0 {
		t.Errorf("usage %+v, want nothing used or reserved", u)
	}
}
