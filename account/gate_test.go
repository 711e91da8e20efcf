package account

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

func TestGate_RoundTrip(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, 30*time.Second, 0)
		d := ge.connectDevice("", "laptop")
		key := d.account + "/laptop/pictures/a.jpg"
		body := []byte("a photo of a cat, 35 bytes long..")

		r := ge.one(d, putOp(key, body))
		if r.Error != nil || r.Method != "PUT" || r.Expires.IsZero() || time.Until(r.Expires) > 31*time.Second {
			t.Fatalf("grant put: %+v", r)
		}
		flipped := bytes.Clone(body)
		flipped[3] ^= 1
		if code, msg := send(t, r, flipped, nil); code == 200 {
			t.Fatalf("a flipped byte was stored: %d %s", code, msg)
		}
		// The declared size is signed: a body of another length, even with
		// its own right checksum, is refused by the storage.
		short := putOp(key, body)
		short.Size--
		if code, msg := send(t, ge.one(d, short), body, nil); code == 200 {
			t.Errorf("a body longer than granted was stored: %d %s", code, msg)
		}
		noCRC := r
		noCRC.Headers = map[string]string{}
		for k, v := range r.Headers {
			if k != "X-Amz-Checksum-Crc32c" {
				noCRC.Headers[k] = v
			}
		}
		if code, msg := send(t, noCRC, body, nil); code == 200 {
			t.Errorf("a PUT without the signed checksum was stored: %d %s", code, msg)
		}
		if code, msg := send(t, r, body, nil); code != 200 {
			t.Fatalf("PUT: %d %s", code, msg)
		}
		c := ge.one(d, wire.Op{Op: wire.OpCommit, Key: key})
		if c.Error != nil || c.Object.Size != int64(len(body)) || c.Object.Meta.SHA256 != strings.Repeat("ab", 32) ||
			c.Object.Meta.MTime != "2024-05-01T10:00:00.123456789Z" || c.Object.Meta.Device != "laptop" || c.Object.Meta.ContentType != "image/jpeg" {
			t.Fatalf("commit: %+v %+v", c.Error, c.Object)
		}
		u, _ := ge.gate.Usage(context.Background(), d.account)
		if u.Used != int64(len(body)) || u.Objects != 1 || u.Reserved != int64(len(body)-1) {
			t.Errorf("usage after commit: %+v, want %d bytes in 1 object, %d reserved for the short grant until it expires",
				u, len(body), len(body)-1)
		}
		rows, _ := ge.gate.store.IndexedObjects(context.Background(), d.account, key, key)
		if len(rows) != 1 || rows[0].Size != int64(len(body)) || rows[0].ETag != c.Object.ETag || rows[0].SHA256 != strings.Repeat("ab", 32) || rows[0].Device != "laptop" {
			t.Errorf("index: %+v", rows)
		}
		if got := ge.adminGet(key); !bytes.Equal(got, body) {
			t.Errorf("stored %q, want %q", got, body)
		}

		// Read back: stat, a ranged GET, a listing with the index's metadata.
		st := ge.one(d, wire.Op{Op: wire.OpStat, Key: key})
		if st.Error != nil || st.Object.Size != int64(len(body)) || st.Object.Meta.SHA256 == "" {
			t.Errorf("stat: %+v %+v", st.Error, st.Object)
		}
		g := ge.one(d, wire.Op{Op: wire.OpGet, Key: key})
		if code, got := send(t, g, nil, http.Header{"Range": {"bytes=2-6"}}); code != 206 || got != string(body[2:7]) {
			t.Errorf("ranged GET: %d %q, want 206 %q", code, got, body[2:7])
		}
		l := ge.one(d, wire.Op{Op: wire.OpList, Prefix: d.account + "/"})
		if l.Error != nil || len(l.Objects) != 1 || l.Objects[0].Key != key || l.Objects[0].Meta.SHA256 == "" {
			t.Errorf("list: %+v %+v", l.Error, l.Objects)
		}
		missing := ge.one(d, wire.Op{Op: wire.OpStat, Key: d.account + "/laptop/none.jpg"})
		if missing.Error == nil || missing.Error.Code != wire.ErrCodeNotFound {
			t.Errorf("stat of a missing object: %+v, want not_found", missing.Error)
		}

		// A copy within the account is counted too; a metadata-only copy onto itself is not counted twice.
		cp := ge.one(d, wire.Op{Op: wire.OpCopy, Source: key, Key: d.account + "/laptop/pictures/b.jpg", Meta: &wire.Meta{Device: "laptop"}})
		if cp.Error != nil || cp.Object.Size != int64(len(body)) {
			t.Fatalf("copy: %+v", cp.Error)
		}
		self := ge.one(d, wire.Op{Op: wire.OpCopy, Source: key, Key: key, ETag: c.Object.ETag,
			Meta: &wire.Meta{SHA256: strings.Repeat("cd", 32), Device: "laptop"}})
		if self.Error != nil || self.Object.Meta.SHA256 != strings.Repeat("cd", 32) {
			t.Fatalf("metadata copy: %+v %+v", self.Error, self.Object)
		}
		if u, _ := ge.gate.Usage(context.Background(), d.account); u.Used != 2*int64(len(body)) || u.Objects != 2 {
			t.Errorf("usage after copies: %+v, want %d bytes in 2 objects", u, 2*len(body))
		}
	})
}

func TestGate_MultipartCRC32C(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, 30*time.Second, 0)
		d := ge.connectDevice("", "laptop")
		key := d.account + "/laptop/videos/v.mp4"
		parts := [][]byte{bytes.Repeat([]byte{'a'}, 5<<20), []byte("the short last part")}
		total := int64(len(parts[0]) + len(parts[1]))

		cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: total, Meta: &wire.Meta{MTime: "2024-05-01T10:00:00Z", Device: "laptop", ContentType: "video/mp4"}})
		if cr.Error != nil || cr.UploadID == "" {
			t.Fatalf("create: %+v", cr.Error)
		}
		if u, _ := ge.gate.Usage(context.Background(), d.account); u.Reserved != total {
			t.Errorf("reserved %d, want %d", u.Reserved, total)
		}
		var ops []wire.Op
		for i, p := range parts {
			ops = append(ops, wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: i + 1, Size: int64(len(p)), CRC32C: crc32cOf(p)})
		}
		code, res, bad := ge.grant(d, ops...)
		if code != 200 {
			t.Fatalf("grant parts: %d %+v", code, bad)
		}
		bad1 := bytes.Clone(parts[1])
		bad1[0] ^= 1
		if code, msg := send(t, res.Results[1], bad1, nil); code == 200 {
			t.Errorf("a part with a flipped byte was stored: %s", msg)
		}
		var done []wire.Part
		for i, p := range parts {
			code, msg := send(t, res.Results[i], p, nil)
			if code != 200 {
				t.Fatalf("part %d: %d %s", i+1, code, msg)
			}
			done = append(done, wire.Part{Number: i + 1, Size: int64(len(p)), CRC32C: crc32cOf(p)})
		}
		lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
		if lp.Error != nil || len(lp.Parts) != 2 {
			t.Fatalf("list parts: %+v %+v", lp.Error, lp.Parts)
		}
		for i := range done {
			done[i].ETag = lp.Parts[i].ETag
		}
		up := ge.one(d, wire.Op{Op: wire.OpListUploads, Prefix: key})
		if up.Error != nil || len(up.Uploads) != 1 || up.Uploads[0].UploadID != cr.UploadID {
			t.Errorf("list uploads: %+v %+v", up.Error, up.Uploads)
		}
		wrong := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID, Parts: done, CRC32C: crc32cOf([]byte("not it"))})
		if wrong.Error == nil {
			t.Errorf("complete with a wrong full-object CRC32C was accepted")
		}
		cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID, Parts: done})
		if cm.Error != nil || cm.Object.Size != total {
			t.Fatalf("complete: %+v %+v", cm.Error, cm.Object)
		}
		if got := ge.adminGet(key); !bytes.Equal(got, append(bytes.Clone(parts[0]), parts[1]...)) {
			t.Errorf("stored %d bytes, not the parts", len(got))
		}
		if u, _ := ge.gate.Usage(context.Background(), d.account); u.Used != total || u.Reserved != 0 {
			t.Errorf("usage after complete: %+v, want %d used, 0 reserved", u, total)
		}
		gone := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
		if gone.Error == nil || gone.Error.Code != wire.ErrCodeNoSuchUpload {
			t.Errorf("list parts of a completed upload: %+v, want no_such_upload", gone.Error)
		}

		// An aborted upload frees its reservation.
		cr2 := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key + ".2", Size: 100})
		if ab := ge.one(d, wire.Op{Op: wire.OpAbort, Key: key + ".2", UploadID: cr2.UploadID}); ab.Error != nil {
			t.Errorf("abort: %+v", ab.Error)
		}
		if u, _ := ge.gate.Usage(context.Background(), d.account); u.Reserved != 0 {
			t.Errorf("reserved after abort: %d, want 0", u.Reserved)
		}
	})
}

func TestGate_RequestBounds(t *testing.T) {
	ge := newGateEnv(t, s3Server{endpoint: "127.0.0.1:1", bucket: "photos", accessKey: "k", secretKey: "s"}, time.Minute, 0)
	d := ge.connectDevice("", "laptop")
	if code, _, bad := ge.grant(d); code != 400 || bad.Code != wire.ErrCodeInvalidOp {
		t.Errorf("no ops: %d %+v, want 400 invalid_op", code, bad)
	}
	ops := make([]wire.Op, wire.MaxGrantOps+1)
	for i := range ops {
		ops[i] = wire.Op{Op: wire.OpGet, Key: fmt.Sprintf("%s/k%d", d.account, i)}
	}
	if code, _, bad := ge.grant(d, ops...); code != 400 || bad.Code != wire.ErrCodeInvalidOp {
		t.Errorf("%d ops: %d %+v, want 400 invalid_op", len(ops), code, bad)
	}
	if code, res, _ := ge.grant(d, ops[:wire.MaxGrantOps]...); code != 200 || res.Results[0].URL == "" {
		t.Errorf("%d gets: %d", wire.MaxGrantOps, code)
	}
	huge := wire.Op{Op: wire.OpGet, Key: d.account + "/" + strings.Repeat("x", 5<<20)}
	if code, _, bad := ge.grant(d, huge); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 MiB body: %d %+v, want 413", code, bad)
	}
	if code, _, bad := grantCall(t, ge.api, "not-a-token", wire.GrantRequest{Ops: ops[:1]}); code != 401 || bad.Code != wire.ErrCodeInvalidToken {
		t.Errorf("a bad token: %d %+v, want 401 invalid_token", code, bad)
	}
	unknown := ge.one(d, wire.Op{Op: "delete", Key: d.account + "/a"})
	if unknown.Error == nil || unknown.Error.Code != wire.ErrCodeInvalidOp {
		t.Errorf("an unknown op: %+v, want invalid_op", unknown.Error)
	}
}
