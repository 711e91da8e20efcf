package account

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/s3copy"
)

// A multipart upload created with the file's metadata (sha256 included)
// stores it with the object and the index: no copy is needed afterwards.
// A copy of an object above the copy limit (lowered to 6 MiB) goes part by
// part, with its bytes, the metadata asked for and the content type, and
// is counted.
func TestGate_CreateWithMetaAndCopyInParts(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		defer func(old int64) { s3copy.MaxSize = old }(s3copy.MaxSize)
		s3copy.MaxSize = 6 << 20
		ge := newGateEnv(t, s, 30*time.Second, 0)
		d := ge.connectDevice("", "laptop")
		key := d.account + "/laptop/videos/v.mp4"
		body := make([]byte, 11<<20)
		rand.NewChaCha8([32]byte{1}).Read(body)
		sum := sha256.Sum256(body)
		meta := &wire.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: "2024-05-01T10:00:00Z", Device: "laptop", ContentType: "video/mp4"}
		uploadInParts(t, ge, d, key, body, meta)
		st := ge.one(d, wire.Op{Op: wire.OpStat, Key: key})
		if st.Error != nil || st.Object.Meta.SHA256 != meta.SHA256 || st.Object.Meta.Device != "laptop" || st.Object.Meta.MTime != meta.MTime {
			t.Errorf("stat after complete: %+v %+v, want the metadata given at create", st.Error, st.Object)
		}
		l := ge.one(d, wire.Op{Op: wire.OpList, Prefix: d.account + "/"})
		if l.Error != nil || len(l.Objects) != 1 || l.Objects[0].Meta.SHA256 != meta.SHA256 {
			t.Errorf("list (index metadata): %+v %+v, want sha256 %s", l.Error, l.Objects, meta.SHA256)
		}

		dst := d.account + "/laptop/videos/renamed.mp4"
		cp := ge.one(d, wire.Op{Op: wire.OpCopy, Source: key, Key: dst, ETag: st.Object.ETag,
			Meta: &wire.Meta{SHA256: meta.SHA256, MTime: meta.MTime, Device: "laptop", ContentType: "video/mp4"}})
		if cp.Error != nil || cp.Object.Size != int64(len(body)) {
			t.Fatalf("copy: %+v %+v", cp.Error, cp.Object)
		}
		if got := ge.adminGet(dst); !bytes.Equal(got, body) {
			t.Errorf("copy holds %d bytes, not the source's", len(got))
		}
		c := ge.one(d, wire.Op{Op: wire.OpStat, Key: dst})
		if c.Error != nil || c.Object.Meta.SHA256 != meta.SHA256 || c.Object.Meta.ContentType != "video/mp4" || !strings.Contains(c.Object.ETag, "-") {
			t.Errorf("stat of the copy: %+v %+v, want sha256, video/mp4 and a multipart ETag", c.Error, c.Object)
		}
		if u, _ := ge.gate.Usage(context.Background(), d.account); u.Used != 2*int64(len(body)) || u.Objects != 2 {
			t.Errorf("usage after the copy: %+v, want %d bytes in 2 objects", u, 2*len(body))
		}
	})
}

// uploadInParts stores body at key through the gate in 5 MiB parts, the
// upload created with meta.
func uploadInParts(t *testing.T, ge *gateEnv, d device, key string, body []byte, meta *wire.Meta) {
	t.Helper()
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: int64(len(body)), Meta: meta})
	if cr.Error != nil {
		t.Fatalf("create: %+v", cr.Error)
	}
	var done []wire.Part
	for n, off := 1, 0; off < len(body); n, off = n+1, off+5<<20 {
		p := body[off:min(off+5<<20, len(body))]
		g := ge.one(d, wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: n, Size: int64(len(p)), CRC32C: crc32cOf(p)})
		if code, msg := send(t, g, p, nil); code != 200 {
			t.Fatalf("part %d: %d %s", n, code, msg)
		}
		done = append(done, wire.Part{Number: n, Size: int64(len(p)), CRC32C: crc32cOf(p)})
	}
	lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
	if lp.Error != nil || len(lp.Parts) != len(done) {
		t.Fatalf("list parts: %+v %+v", lp.Error, lp.Parts)
	}
	for i := range done {
		done[i].ETag = lp.Parts[i].ETag
	}
	if cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID, Parts: done}); cm.Error != nil {
		t.Fatalf("complete: %+v", cm.Error)
	}
}
