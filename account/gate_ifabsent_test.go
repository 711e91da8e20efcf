package account

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// A put or a complete with if_absent stores the object only while its key
// holds none: the put's grant signs If-None-Match: * (a device that leaves
// it out is refused), the storage answers 412 when another device stored
// the key first, and a complete then fails with "exists". The object
// there is untouched.
func TestGate_IfAbsent(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, 30*time.Second, 0)
		d := ge.connectDevice("", "phone")
		key := d.account + "/2024/01/IMG_0001.JPG"
		theirs, mine := []byte("the other phone's photo"), []byte("this phone's photo, another one")
		ge.adminPut(key, theirs)

		op := putOp(key, mine)
		op.IfAbsent = true
		r := ge.one(d, op)
		if r.Error != nil || r.Headers["If-None-Match"] != "*" {
			t.Fatalf("grant: %+v, headers %v; want If-None-Match: * among them", r.Error, r.Headers)
		}
		if code, msg := send(t, r, mine, nil); code != 412 {
			t.Errorf("PUT onto a taken key: %d %s, want 412", code, msg)
		}
		if got := ge.adminGet(key); !bytes.Equal(got, theirs) {
			t.Errorf("the key holds %q, want the other phone's %q", got, theirs)
		}

		free := d.account + "/2024/01/IMG_0002.JPG"
		op = putOp(free, mine)
		op.IfAbsent = true
		r = ge.one(d, op)
		without := r
		without.Headers = map[string]string{}
		for k, v := range r.Headers {
			if k != "If-None-Match" {
				without.Headers[k] = v
			}
		}
		if code, _ := send(t, without, mine, nil); code == 200 {
			t.Errorf("a PUT without the signed If-None-Match was accepted")
		}
		if code, msg := send(t, r, mine, nil); code != 200 {
			t.Errorf("PUT onto a free key: %d %s, want 200", code, msg)
		}

		part := bytes.Repeat([]byte{'v'}, 5<<20)
		cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: int64(len(part)), Meta: &wire.Meta{MTime: "2024-05-01T10:00:00Z", Device: "phone"}})
		if cr.Error != nil {
			t.Fatalf("create: %+v", cr.Error)
		}
		pr := ge.one(d, wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: 1, Size: int64(len(part)), CRC32C: crc32cOf(part)})
		if code, msg := send(t, pr, part, nil); code != 200 {
			t.Fatalf("part: %d %s", code, msg)
		}
		lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
		if lp.Error != nil || len(lp.Parts) != 1 {
			t.Fatalf("list parts: %+v", lp.Error)
		}
		done := []wire.Part{{Number: 1, Size: int64(len(part)), ETag: lp.Parts[0].ETag, CRC32C: crc32cOf(part)}}
		cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID, Parts: done, IfAbsent: true})
		if cm.Error == nil || cm.Error.Code != wire.ErrCodeExists {
			t.Errorf("complete onto a taken key: %+v, want %s", cm.Error, wire.ErrCodeExists)
		}
		if got := ge.adminGet(key); !bytes.Equal(got, theirs) {
			t.Errorf("after the complete, the key holds %d bytes, want the other phone's", len(got))
		}
		if ab := ge.one(d, wire.Op{Op: wire.OpAbort, Key: key, UploadID: cr.UploadID}); ab.Error != nil {
			t.Errorf("abort: %+v", ab.Error)
		}

		if st := ge.one(d, wire.Op{Op: wire.OpStat, Key: key, IfAbsent: true}); st.Error == nil || st.Error.Code != wire.ErrCodeInvalidOp {
			t.Errorf("stat with if_absent: %+v, want invalid_op", st.Error)
		}
	})
}
