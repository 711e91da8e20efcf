package account

import (
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// A grant that stored something tells the device its account's use, so
// that it can say when the account is nearly full; other grants, and
// accounts without a quota, say nothing of it.
func TestGate_GrantTellsUsageAfterStoring(t *testing.T) {
	ge := newGateEnv(t, startMinIOServer(t), 30*time.Second, 1000)
	d := ge.connectDevice("", "laptop")
	key := d.account + "/laptop/a.jpg"
	body := make([]byte, 950)
	r := ge.one(d, putOp(key, body))
	if r.Error != nil {
		t.Fatalf("grant put: %+v", r.Error)
	}
	if code, msg := send(t, r, body, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	code, res, bad := ge.grant(d, wire.Op{Op: wire.OpCommit, Key: key})
	if code != 200 || res.Results[0].Error != nil {
		t.Fatalf("commit: %d %+v %+v", code, res, bad)
	}
	if u := res.Usage; u == nil || u.Used != 950 || u.Quota != 1000 {
		t.Errorf("usage after the commit: %+v, want 950 of 1000", u)
	}
	if _, res, _ := ge.grant(d, wire.Op{Op: wire.OpStat, Key: key}); res.Usage != nil {
		t.Errorf("usage after a stat: %+v, want none", res.Usage)
	}
	if _, err := ge.gate.SetQuota(t.Context(), d.account, 0); err != nil {
		t.Fatal(err)
	}
	ge.putObject(d, d.account+"/laptop/b.jpg", make([]byte, 10))
	code, res, _ = ge.grant(d, wire.Op{Op: wire.OpCommit, Key: d.account + "/laptop/b.jpg"})
	if code != 200 || res.Usage != nil {
		t.Errorf("without a quota: %d usage %+v, want none", code, res.Usage)
	}
}
