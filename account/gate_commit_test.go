package account

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// TestS3_ListsAPutAtOnce: the commits of a batch are checked with a
// listing, which needs a server that lists an object as soon as its PUT
// has answered, with the size and ETag the PUT stored.
func TestS3_ListsAPutAtOnce(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ctx := context.Background()
		for i := range 50 {
			key := fmt.Sprintf("acct/pictures/IMG_%04d.jpg", i)
			body := bytes.Repeat([]byte{byte(i)}, 100+i)
			put, err := s.admin.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []minio.ObjectInfo
			for o := range s.admin.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: "acct/pictures/", StartAfter: key[:len(key)-1]}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got = append(got, o)
			}
			if len(got) != 1 || got[0].Key != key || got[0].Size != int64(len(body)) || strings.Trim(got[0].ETag, `"`) != put.ETag {
				t.Fatalf("listed right after the PUT of %s (%d bytes, ETag %s): %+v", key, len(body), put.ETag, got)
			}
		}
	})
}

// TestGate_CommitBatchLists: 200 commits of one folder cost one listing
// of the storage and no HEAD; each object is indexed with its grant's
// metadata and counted once. In the same batch a key that was granted
// but never PUT is neither indexed nor counted, and another account's
// key is refused.
func TestGate_CommitBatchLists(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		proxy := miniotest.NewProxy(t, s.endpoint)
		s.endpoint = proxy.Addr
		ge := newGateEnv(t, s, 30*time.Second, 1<<20)
		d := ge.connectDevice("", "laptop")
		other := ge.connectDevice("", "phone")
		ctx := context.Background()

		const n = 200
		body := bytes.Repeat([]byte("x"), 1000)
		var puts []wire.Op
		for i := range n + 1 {
			puts = append(puts, putOp(fmt.Sprintf("%s/laptop/pictures/IMG_%04d.jpg", d.account, i), body))
		}
		code, grants, bad := ge.grant(d, puts...)
		if code != 200 {
			t.Fatalf("grant %d puts: %d %+v", len(puts), code, bad)
		}
		for i, r := range grants.Results[:n] { // the last one is never sent
			if code, msg := send(t, r, body, nil); code != 200 {
				t.Fatalf("PUT %s: %d %s", puts[i].Key, code, msg)
			}
		}

		commits := []wire.Op{{Op: wire.OpCommit, Key: other.account + "/phone/IMG_0001.jpg"}}
		for _, p := range puts {
			commits = append(commits, wire.Op{Op: wire.OpCommit, Key: p.Key})
		}
		proxy.Reset()
		code, res, bad := ge.grant(d, commits...)
		if code != 200 {
			t.Fatalf("commit: %d %+v", code, bad)
		}
		if heads, gets := proxy.CountRequests(http.MethodHead), proxy.CountRequests(http.MethodGet); heads > 1 || gets > 1 {
			t.Errorf("%d commits cost %d HEAD and %d GET (listing) requests, want at most 1 HEAD (the key never PUT) and 1 listing",
				len(commits), heads, gets)
		}
		if e := res.Results[0].Error; e == nil || e.Code != wire.ErrCodeAccessDenied {
			t.Errorf("commit of another account's key: %+v, want %s", e, wire.ErrCodeAccessDenied)
		}
		if e := res.Results[n+1].Error; e == nil || e.Code != wire.ErrCodeNotFound {
			t.Errorf("commit of a key never PUT: %+v, want %s", e, wire.ErrCodeNotFound)
		}
		for i, r := range res.Results[1 : n+1] {
			if r.Error != nil || r.Object == nil || r.Object.Size != int64(len(body)) || r.Object.ETag == "" ||
				r.Object.Meta.SHA256 != strings.Repeat("ab", 32) || r.Object.Meta.Device != "laptop" {
				t.Fatalf("commit %s: %+v %+v", puts[i].Key, r.Error, r.Object)
			}
		}

		rows, err := ge.gate.store.IndexedObjects(ctx, d.account, d.account+"/", d.account+"/\U0010FFFF")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("%d index rows, want %d", len(rows), n)
		}
		for i, o := range rows {
			info, err := s.admin.StatObject(ctx, s.bucket, o.Key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if o.Key != puts[i].Key || o.Size != info.Size || o.ETag != info.ETag || o.SHA256 != strings.Repeat("ab", 32) ||
				o.MTime != "2024-05-01T10:00:00.123456789Z" || o.Device != "laptop" {
				t.Fatalf("index row %+v, want %s of %d bytes, ETag %s, with the grant's metadata", o, puts[i].Key, info.Size, info.ETag)
			}
		}
		// The grant of the key never PUT stays reserved until it is over.
		if u, _ := ge.gate.Usage(ctx, d.account); u.Used != n*int64(len(body)) || u.Objects != n || u.Reserved != int64(len(body)) {
			t.Errorf("usage %+v, want %d bytes in %d objects, %d reserved", u, n*len(body), n, len(body))
		}
		if u, _ := ge.gate.Usage(ctx, other.account); u.Used != 0 || u.Objects != 0 {
			t.Errorf("usage of the other account %+v, want nothing", u)
		}
	})
}

// TestGate_CommitBatchFallsBack: commits whose objects a listing cannot
// vouch for are checked with a HEAD each: an object stored with another
// size than granted (around the gate) is held to the quota as before, and
// commits spread over folders still count.
func TestGate_CommitBatchFallsBack(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) { testCommitBatchFallsBack(t, s) })
}

func testCommitBatchFallsBack(t *testing.T, s s3Server) {
	ge := newGateEnv(t, s, 30*time.Second, 10_000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	body := make([]byte, 100)
	a, b := d.account+"/laptop/a/1.jpg", d.account+"/laptop/a/2.jpg"
	lone := d.account + "/laptop/b/3.jpg"
	var ops []wire.Op
	for _, k := range []string{a, b, lone} {
		r := ge.one(d, putOp(k, body))
		if code, msg := send(t, r, body, nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", k, code, msg)
		}
		ops = append(ops, wire.Op{Op: wire.OpCommit, Key: k})
	}
	ge.adminPut(b, make([]byte, 300)) // replaced by a bigger object than granted
	code, res, bad := ge.grant(d, ops...)
	if code != 200 {
		t.Fatalf("commit: %d %+v", code, bad)
	}
	for i, r := range res.Results {
		if r.Error != nil {
			t.Errorf("commit %s: %+v", ops[i].Key, r.Error)
		}
	}
	// b's grant keeps its space until it is over: its URL could still
	// store 100 bytes.
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 500 || u.Objects != 3 || u.Reserved != 100 {
		t.Errorf("usage %+v, want 500 bytes in 3 objects, 100 reserved", u)
	}
}
