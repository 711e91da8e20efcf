package account

import (
	"context"
	"sync"
	"sync/atomic"
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
	ge.adminPart(key, cr.UploadID, 1, body) // more than declared: the gate grants no such part
	ab := ge.one(d, wire.Op{Op: wire.OpAbort, Key: d.account + "/laptop/other.mp4", UploadID: cr.UploadID})
	if ab.Error != nil { // MinIO answers 204 and aborts nothing
		t.Fatalf("abort under another key: %+v", ab.Error)
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
	ge.adminPart(key, cr.UploadID, 1, body)                      // more than declared: the gate grants no such part
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
// size does not shrink what the first, bigger grant holds: its URL still
// works, so its space stays reserved until it is counted or expires.
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
	if code, _, bad := ge.grant(d, putOp(b, big)); code != 403 || bad.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("grant of b beside 900 + 1 reserved for a: %d %+v, want 403 %s", code, bad, wire.ErrCodeQuotaExceeded)
	}
	if code, msg := send(t, first, big, nil); code != 200 {
		t.Fatalf("PUT a with the first URL: %d %s", code, msg)
	}
	if cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: a}); cm.Error != nil {
		t.Fatalf("commit of a: %+v", cm.Error)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 900 || u.Reserved != 1 {
		t.Errorf("usage %+v, want 900 used, 1 still reserved for the unused grant", u)
	}
	// An honest overwrite of a counted object is not refused for the
	// object it replaces, nor is a second commit.
	ge.putObject(d, a, make([]byte, 40))
	ge.putObject(d, a, make([]byte, 50))
	if cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: a}); cm.Error != nil {
		t.Fatalf("a second commit of a counted object: %+v", cm.Error)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 50 || u.Objects != 1 {
		t.Errorf("usage %+v, want 50 used in 1 object", u)
	}
}

// TestGate_CommitBeforeThePutLands: a commit sent before the bytes of its
// grant land counts what is there now and keeps the grant's space
// reserved, so the bytes that land afterwards never escape the quota.
func TestGate_CommitBeforeThePutLands(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	a := d.account + "/laptop/a.jpg"
	ge.putObject(d, a, make([]byte, 1))
	big := make([]byte, 900)
	url := ge.one(d, putOp(a, big))
	if cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: a}); cm.Error != nil {
		t.Fatalf("early commit: %+v", cm.Error)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 1 || u.Reserved != 900 {
		t.Fatalf("usage after the early commit %+v, want 1 used, 900 reserved", u)
	}
	if code, _, bad := ge.grant(d, putOp(d.account+"/laptop/c.jpg", big)); code != 403 || bad.Code != wire.ErrCodeQuotaExceeded {
		t.Fatalf("grant of 900 more: %d %+v, want 403 %s", code, bad, wire.ErrCodeQuotaExceeded)
	}
	if code, msg := send(t, url, big, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	later := time.Now().Add(2 * time.Hour) // never committed again: settled when the grant is over
	ge.gate.now = func() time.Time { return later }
	if code, _, bad := ge.grant(d, putOp(d.account+"/laptop/c.jpg", big)); code != 403 || bad.Used != 900 {
		t.Fatalf("grant of 900 more after the late PUT: %d %+v, want 403 with 900 used", code, bad)
	}
}

// TestGate_SmallerRegrantKeepsTheFirstURLCounted: the object of a
// smaller re-grant committed first does not free the space of the bigger
// grant whose URL is still live; its bytes are counted when they land.
func TestGate_SmallerRegrantKeepsTheFirstURLCounted(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	ctx := context.Background()
	k := d.account + "/laptop/k.jpg"
	big, small := make([]byte, 900), []byte{7}
	u1 := ge.one(d, putOp(k, big))
	u2 := ge.one(d, putOp(k, small))
	if code, msg := send(t, u2, small, nil); code != 200 {
		t.Fatalf("PUT small: %d %s", code, msg)
	}
	if cm := ge.one(d, wire.Op{Op: wire.OpCommit, Key: k}); cm.Error != nil {
		t.Fatalf("commit small: %+v", cm.Error)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 1 || u.Reserved != 900 {
		t.Fatalf("usage %+v, want 1 used, 900 reserved for the first grant", u)
	}
	if code, msg := send(t, u1, big, nil); code != 200 {
		t.Fatalf("PUT big with the first URL: %d %s", code, msg)
	}
	later := time.Now().Add(2 * time.Hour)
	ge.gate.now = func() time.Time { return later }
	if code, _, bad := ge.grant(d, putOp(d.account+"/laptop/other.jpg", make([]byte, 200))); code != 403 || bad.Used != 900 {
		t.Fatalf("grant of 200 more: %d %+v, want 403 with 900 used", code, bad)
	}
	if u, _ := ge.gate.Usage(ctx, d.account); u.Used != 900 || u.Objects != 1 || u.Reserved != 0 {
		t.Errorf("usage %+v, want 900 used in 1 object, nothing reserved", u)
	}
}

// TestGate_UploadIDsOfPathSegmentsRefused: versitygw keeps uploads as
// directories named by their IDs, so an abort of upload ".." under any key
// would remove every account's uploads in progress. Upload IDs that are
// not plain tokens never reach the storage.
func TestGate_UploadIDsOfPathSegmentsRefused(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, 30*time.Second, 0)
		a := ge.connectDevice("", "laptop")
		b := ge.connectDevice("", "laptop")
		key := a.account + "/laptop/v.mp4"
		cr := ge.one(a, wire.Op{Op: wire.OpCreate, Key: key, Size: 100})
		if cr.Error != nil {
			t.Fatal(cr.Error)
		}
		bkey := b.account + "/laptop/v.mp4"
		for _, id := range []string{"..", ".", "../" + cr.UploadID, "a/../" + cr.UploadID, `..\x`, "%2e%2e", "x y"} {
			for _, op := range []wire.Op{
				{Op: wire.OpAbort, Key: bkey, UploadID: id},
				{Op: wire.OpListParts, Key: bkey, UploadID: id},
				{Op: wire.OpPart, Key: bkey, UploadID: id, Part: 1, Size: 1, CRC32C: crc32cOf([]byte{0})},
				{Op: wire.OpComplete, Key: bkey, UploadID: id, Parts: []wire.Part{{Number: 1, ETag: "x"}}},
			} {
				r := ge.one(b, op)
				if r.Error == nil || r.Error.Code != wire.ErrCodeInvalidOp || r.Error.Message != "upload_id is missing or malformed" {
					t.Errorf("%s with upload_id %q: %+v, want %s", op.Op, id, r.Error, wire.ErrCodeInvalidOp)
				}
			}
		}
		if lp := ge.one(a, wire.Op{Op: wire.OpListParts, Key: key, UploadID: cr.UploadID}); lp.Error != nil {
			t.Errorf("the other account's upload after the attempts: %+v", lp.Error)
		}
	})
}

// TestGate_UncommittedPutIsCounted: a device that PUTs with its grant and
// never commits still has the object counted, once the grant is over and
// before any new grant of its account.
func TestGate_UncommittedPutIsCounted(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	a := d.account + "/laptop/a.jpg"
	body := make([]byte, 600)
	r := ge.one(d, putOp(a, body))
	if code, msg := send(t, r, body, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	later := time.Now().Add(2 * time.Hour) // the reservation is long over
	ge.gate.now = func() time.Time { return later }
	code, _, bad := ge.grant(d, putOp(d.account+"/laptop/b.jpg", make([]byte, 600)))
	if code != 403 || bad.Code != wire.ErrCodeQuotaExceeded || bad.Used != 600 {
		t.Fatalf("a put after an uncommitted one of 600 bytes: %d %+v, want 403 %s used 600", code, bad, wire.ErrCodeQuotaExceeded)
	}
	u, _ := ge.gate.Usage(context.Background(), d.account)
	if u.Used != 600 || u.Objects != 1 || u.Reserved != 0 {
		t.Errorf("usage %+v, want 600 used in 1 object, nothing reserved", u)
	}
	// A grant never used leaves nothing behind.
	ge.one(d, wire.Op{Op: wire.OpGet, Key: a})
	_ = ge.one(d, putOp(d.account+"/laptop/c.jpg", make([]byte, 300)))
	later = later.Add(2 * time.Hour)
	if code, _, bad := ge.grant(d, putOp(d.account+"/laptop/d.jpg", make([]byte, 400))); code != 200 {
		t.Fatalf("a put after an unused grant: %d %+v", code, bad)
	}
}

// TestGate_PartsHeldToDeclaredSize: the parts of an upload never add up to
// more than the size reserved at its create — an upload declared small
// cannot park gigabytes of parts that are never completed nor counted —
// and a burst of part grants gets exactly as many as fit.
func TestGate_PartsHeldToDeclaredSize(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	key := d.account + "/laptop/v.mp4"
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: 37 << 20})
	if cr.Error != nil {
		t.Fatal(cr.Error)
	}
	part := func(n int, size int64) wire.Op {
		return wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: n, Size: size, CRC32C: "AAAAAA=="}
	}
	if r := ge.one(d, part(1, 5<<30)); r.Error == nil || r.Error.Code != wire.ErrCodeQuotaExceeded || r.URL != "" {
		t.Fatalf("a 5 GiB part of a 37 MiB upload: %+v, want %s", r.Error, wire.ErrCodeQuotaExceeded)
	}
	var granted atomic.Int32
	var wg sync.WaitGroup
	for n := 1; n <= 100; n++ {
		wg.Go(func() {
			if r := ge.one(d, part(n, 1<<20)); r.Error == nil && r.URL != "" {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 37 {
		t.Errorf("granted %d parts of 1 MiB for 37 MiB declared, want 37", granted.Load())
	}
	// A part granted again (its URL expired) replaces itself; it does not add up.
	var again int
	for n := 1; n <= 100 && again == 0; n++ {
		if r := ge.one(d, part(n, 1<<20)); r.Error == nil {
			again = n
		}
	}
	if again == 0 {
		t.Error("no granted part could be granted again")
	}
	if r := ge.one(d, wire.Op{Op: wire.OpPart, Key: key + ".other", UploadID: cr.UploadID, Part: 1, Size: 1, CRC32C: "AAAAAA=="}); r.Error == nil || r.Error.Code != wire.ErrCodeNoSuchUpload {
		t.Errorf("a part of the upload under another key: %+v, want %s", r.Error, wire.ErrCodeNoSuchUpload)
	}
	if r := ge.one(d, wire.Op{Op: wire.OpAbort, Key: key, UploadID: cr.UploadID}); r.Error != nil {
		t.Fatal(r.Error)
	}
	if r := ge.one(d, part(1, 1)); r.Error == nil || r.Error.Code != wire.ErrCodeNoSuchUpload {
		t.Errorf("a part after the abort: %+v, want %s", r.Error, wire.ErrCodeNoSuchUpload)
	}
}

// TestGate_PartGrantedSmallerAgainStillCounts: a part's URL stays valid
// after the part is granted again, so a part granted big then small holds
// its biggest size: shrinking each part's grant in turn cannot park parts
// adding up to more than the upload declared.
func TestGate_PartGrantedSmallerAgainStillCounts(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	key := d.account + "/laptop/v.mp4"
	cr := ge.one(d, wire.Op{Op: wire.OpCreate, Key: key, Size: 100})
	if cr.Error != nil {
		t.Fatal(cr.Error)
	}
	part := func(n int, size int64) wire.Op {
		return wire.Op{Op: wire.OpPart, Key: key, UploadID: cr.UploadID, Part: n, Size: size, CRC32C: "AAAAAA=="}
	}
	if r := ge.one(d, part(1, 100)); r.Error != nil || r.URL == "" {
		t.Fatalf("part 1 of 100 bytes: %+v", r.Error)
	}
	if r := ge.one(d, part(1, 1)); r.Error != nil || r.URL == "" {
		t.Fatalf("part 1 again, of 1 byte: %+v", r.Error)
	}
	if r := ge.one(d, part(2, 99)); r.Error == nil || r.Error.Code != wire.ErrCodeQuotaExceeded || r.URL != "" {
		t.Errorf("part 2 of 99 bytes beside part 1 granted at 100: %+v, want %s", r.Error, wire.ErrCodeQuotaExceeded)
	}
	if r := ge.one(d, part(1, 100)); r.Error != nil || r.URL == "" {
		t.Errorf("part 1 at its size again: %+v", r.Error)
	}
}
