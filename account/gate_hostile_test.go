package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// grantPuts asks, in one grant call, for n put grants of size-byte bodies
// under prefix (keys numbered from first).
func (ge *gateEnv) grantPuts(d device, prefix string, first, n int, body []byte) (int, wire.GrantResponse, wire.Error) {
	ge.t.Helper()
	ops := make([]wire.Op, n)
	for i := range ops {
		ops[i] = putOp(fmt.Sprintf("%s%05d.jpg", prefix, first+i), body)
	}
	return ge.grant(d, ops...)
}

// sendAll makes every presigned PUT of res with body, a few at a time,
// as a device that never commits.
func (ge *gateEnv) sendAll(res wire.GrantResponse, body []byte) {
	ge.t.Helper()
	var grp errgroup.Group
	grp.SetLimit(8)
	for _, r := range res.Results {
		grp.Go(func() error {
			if r.Error != nil {
				return fmt.Errorf("grant: %+v", r.Error)
			}
			if code, msg := send(ge.t, r, body, nil); code != 200 {
				return fmt.Errorf("PUT: %d %s", code, msg)
			}
			return nil
		})
	}
	if err := grp.Wait(); err != nil {
		ge.t.Fatal(err)
	}
}

// bucketBytes returns the bytes and objects the bucket holds under prefix.
func (ge *gateEnv) bucketBytes(prefix string) (int64, int) {
	ge.t.Helper()
	var size int64
	n := 0
	for o := range ge.s3.admin.ListObjects(context.Background(), ge.s3.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			ge.t.Fatal(o.Err)
		}
		size += o.Size
		n++
	}
	return size, n
}

// uncommitted stores objects of 1000 bytes for d, as many in each grant
// call as calls says, and never commits them, then moves the gate's clock
// past their reservations.
func (ge *gateEnv) uncommitted(d device, body []byte, calls ...int) {
	ge.t.Helper()
	first := 0
	for _, n := range calls {
		code, res, bad := ge.grantPuts(d, d.account+"/laptop/", first, n, body)
		if code != 200 {
			ge.t.Fatalf("grant of %d puts within the quota: %d %+v", n, code, bad)
		}
		ge.sendAll(res, body)
		first += n
	}
	if size, n := ge.bucketBytes(d.account + "/"); size != int64(first)*1000 || n != first {
		ge.t.Fatalf("bucket before the grants expire: %d B in %d objects, want %d objects of 1000 B", size, n, first)
	}
	later := time.Now().Add(2 * time.Hour) // every reservation is over: 3 × grant_ttl, at least a minute
	ge.gate.now = func() time.Time { return later }
}

// TestGate_UncommittedPutsHoldTheQuota: a device that PUTs every URL of
// its grants and never commits cannot store more than its quota once the
// grants expire: its uncommitted puts count until they are settled.
func TestGate_UncommittedPutsHoldTheQuota(t *testing.T) {
	const quota = 1 << 20
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, quota)
	d := ge.connectDevice("", "laptop")
	body := bytes.Repeat([]byte{7}, 1000)
	ge.uncommitted(d, body, 300, 700, 10)

	// 10 of the 1010 puts are left to settle: they hold their space meanwhile.
	want := wire.Error{Code: wire.ErrCodeQuotaExceeded, Used: 1000 * 1000, Quota: quota,
		Message: "storage quota reached (976.6 KiB stored and 9.8 KiB held by uploads in progress, of 1 MiB)"}
	t0 := time.Now()
	code, _, bad := ge.grantPuts(d, d.account+"/more/", 0, 900, body)
	t.Logf("a grant call settling 1000 uncommitted puts: %d ms", time.Since(t0).Milliseconds())
	if code != http.StatusForbidden || !reflect.DeepEqual(bad, want) {
		t.Errorf("grant of 900 puts over 1010 uncommitted: %d %+v, want 403 %+v", code, bad, want)
	}
	// The rest is settled with the next call: everything is counted.
	want.Used, want.Message = 1010*1000, "storage quota reached (1 of 1 MiB)"
	for _, n := range []int{900, 500, 100, 39} {
		code, res, bad := ge.grantPuts(d, d.account+"/more/", 0, n, body)
		if code == 200 {
			ge.sendAll(res, body) // the attacker uses whatever it gets
		}
		if code != http.StatusForbidden || !reflect.DeepEqual(bad, want) {
			t.Errorf("grant of %d puts: %d %+v, want 403 %+v", n, code, bad, want)
		}
	}
	// What is left fits.
	code, res, bad := ge.grantPuts(d, d.account+"/more/", 0, 38, body)
	if code != 200 {
		t.Fatalf("grant of 38 puts into the room left: %d %+v", code, bad)
	}
	ge.sendAll(res, body)
	if size, n := ge.bucketBytes(d.account + "/"); size > quota || n != 1048 {
		t.Errorf("bucket: %d B in %d objects, want at most the quota of %d B, 1048 objects", size, n, quota)
	}
	u, _ := ge.gate.Usage(context.Background(), d.account)
	if u.Used != 1010*1000 || u.Reserved != 38*1000 {
		t.Errorf("usage %+v, want 1010000 used, 38000 reserved", u)
	}
}

// TestGate_UncommittedPutsBurst: 20 grant calls at once, just after the
// reservations of 3000 uncommitted puts expired (more than one call
// settles), get exactly the room left beside them and never take the
// account over its quota.
func TestGate_UncommittedPutsBurst(t *testing.T) {
	const quota = 3 << 20
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, quota)
	d := ge.connectDevice("", "laptop")
	body := bytes.Repeat([]byte{7}, 1000)
	ge.uncommitted(d, body, 1000, 1000, 1000)

	var mu sync.Mutex
	var granted []wire.GrantResponse
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			code, res, bad := grantCall(t, ge.api, d.access, wire.GrantRequest{Ops: putOps(fmt.Sprintf("%s/burst%02d/", d.account, i), 20, body)})
			switch {
			case code == 200:
				mu.Lock()
				granted = append(granted, res)
				mu.Unlock()
			case code != http.StatusForbidden || bad.Code != wire.ErrCodeQuotaExceeded:
				t.Errorf("grant %d: %d %+v", i, code, bad)
			}
		})
	}
	wg.Wait()
	for _, res := range granted {
		ge.sendAll(res, body)
	}
	// 145,728 B are left beside the 3,000,000 uncommitted: 7 calls of 20,000.
	if size, n := ge.bucketBytes(d.account + "/"); size > quota || len(granted) != 7 {
		t.Errorf("bucket: %d B in %d objects after a burst of 20 grant calls, %d granted; want at most the quota of %d B, 7 granted",
			size, n, len(granted), quota)
	}
}

func putOps(prefix string, n int, body []byte) []wire.Op {
	ops := make([]wire.Op, n)
	for i := range ops {
		ops[i] = putOp(fmt.Sprintf("%s%05d.jpg", prefix, i), body)
	}
	return ops
}

// grantRaw posts req and returns the status and the answer's bytes.
func grantRaw(t *testing.T, api, token string, req wire.GrantRequest) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(req)
	r, _ := http.NewRequest("POST", api+wire.PathStorageGrant, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestGate_ListingsPerRequestBounded: one small grant request of 1000
// listings of a prefix holding 1010 objects is refused with a 400 naming
// the limit, instead of an answer of a thousand pages; a request within
// the limit answers pages of at most 1000 objects each.
func TestGate_ListingsPerRequestBounded(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	var grp errgroup.Group
	grp.SetLimit(8)
	for i := range 1010 {
		grp.Go(func() error {
			ge.adminPut(fmt.Sprintf("%s/laptop/pictures/2024/IMG_%05d.jpg", d.account, i), []byte("x"))
			return nil
		})
	}
	grp.Wait()

	list := wire.Op{Op: wire.OpList, Prefix: d.account + "/"}
	ops := make([]wire.Op, 1000)
	for i := range ops {
		ops[i] = list
	}
	code, b := grantRaw(t, ge.api, d.access, wire.GrantRequest{Ops: ops})
	want := `{"error":"invalid_op","message":"bad grant request: 1000 listings (list, list_parts, list_uploads), want at most 4 per request"}`
	if code != http.StatusBadRequest || strings.TrimSpace(string(b)) != want {
		t.Errorf("1000 listings: %d, %d bytes: %.300s; want 400 %s", code, len(b), b, want)
	}
	mixed := []wire.Op{list, list, {Op: wire.OpListUploads, Prefix: d.account + "/"},
		{Op: wire.OpListParts, Key: d.account + "/v.mp4", UploadID: "abc"}, list}
	if code, b := grantRaw(t, ge.api, d.access, wire.GrantRequest{Ops: mixed}); code != http.StatusBadRequest ||
		!strings.Contains(string(b), "5 listings (list, list_parts, list_uploads), want at most 4 per request") {
		t.Errorf("5 listings of 3 kinds: %d %.300s; want 400", code, b)
	}

	code, b = grantRaw(t, ge.api, d.access, wire.GrantRequest{Ops: ops[:wire.MaxGrantListings]})
	var res wire.GrantResponse
	if code != 200 || json.Unmarshal(b, &res) != nil {
		t.Fatalf("4 listings: %d %.300s", code, b)
	}
	for i, r := range res.Results {
		if r.Error != nil || len(r.Objects) != 1000 || !r.Truncated {
			t.Errorf("listing %d: %d objects, truncated %v, error %+v; want a page of 1000, truncated", i, len(r.Objects), r.Truncated, r.Error)
		}
	}
	if len(b) > 1<<20 {
		t.Errorf("the answer to 4 listings is %d bytes, want at most 1 MiB", len(b))
	}
	t.Logf("4 listings of 1000 objects: %d bytes", len(b))
}
