package restore_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/manifest"
	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

// memStore is a storage that lists and reads objects held in memory.
type memStore struct {
	listing
	bodies map[string][]byte
}

func (o memStore) Get(_ context.Context, key string, _ int64) (io.ReadCloser, error) {
	b, ok := o.bodies[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// One unreadable manifest does not fail the others: its device is taken
// whole, as with no manifest, and named with why.
func TestManifestsUnreadable(t *testing.T) {
	stored := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var phone bytes.Buffer
	if err := manifest.Encode(&phone, &manifest.Manifest{Device: "phone", Keys: []manifest.Entry{
		{Key: "alice/phone/a.jpg", Live: []manifest.Span{{From: 1}}},
		{Key: "alice/phone/gone.jpg", Live: []manifest.Span{{From: 1, To: 2}}},
	}}); err != nil {
		t.Fatal(err)
	}
	st := memStore{
		listing: listing{objs: []storage.Object{
			{Key: "alice/.cloudkeep/manifests/laptop.json.gz", LastModified: stored},
			{Key: "alice/.cloudkeep/manifests/phone.json.gz", LastModified: stored},
			{Key: "alice/laptop/x.jpg", LastModified: stored},
			{Key: "alice/phone/a.jpg", LastModified: stored},
			{Key: "alice/phone/gone.jpg", LastModified: stored},
		}},
		bodies: map[string][]byte{
			"alice/.cloudkeep/manifests/laptop.json.gz": []byte("not a manifest"),
			"alice/.cloudkeep/manifests/phone.json.gz":  phone.Bytes(),
		},
	}
	set, unreadable, err := restore.Manifests(context.Background(), st, "alice/")
	if err != nil {
		t.Fatal(err)
	}
	if set["phone"] == nil || set["laptop"] != nil || len(unreadable) != 1 || unreadable["laptop"] == nil ||
		unreadable["laptop"].Error() != "alice/.cloudkeep/manifests/laptop.json.gz: manifest: not gzip: gzip: invalid header" {
		t.Fatalf("set %v, unreadable %v", set, unreadable)
	}
	state := &restore.State{Set: set, Unreadable: unreadable}
	var kept []string
	for _, it := range []restore.Item{
		{Key: "alice/laptop/x.jpg", Device: "laptop", Stored: stored},
		{Key: "alice/phone/a.jpg", Device: "phone", Stored: stored},
		{Key: "alice/phone/gone.jpg", Device: "phone", Stored: stored},
	} {
		if state.Keep(it) {
			kept = append(kept, it.Key)
		}
	}
	if len(kept) != 2 || kept[0] != "alice/laptop/x.jpg" || kept[1] != "alice/phone/a.jpg" || len(state.Unknown) != 0 || state.LeftBy["phone"] != 1 {
		t.Errorf("kept %v, unknown %v, left %v", kept, state.Unknown, state.LeftBy)
	}
}

// Files stored after --as-of are counted apart: they did not exist then,
// they were not deleted.
func TestStateNotYet(t *testing.T) {
	at := time.Date(1970, 1, 1, 23, 0, 0, 0, time.UTC)
	set := manifest.Set{"laptop": {Device: "laptop", Written: time.Now(), Keys: []manifest.Entry{
		{Key: "alice/laptop/a.jpg", Live: []manifest.Span{{From: time.Now().UnixNano()}}},
	}}}
	state := &restore.State{Set: set, At: at}
	for _, it := range []restore.Item{
		{Key: "alice/laptop/a.jpg", Device: "laptop", Stored: time.Now()},
		{Key: "alice/laptop/b.jpg", Device: "laptop", Stored: time.Now().Add(-time.Hour)},
	} {
		if state.Keep(it) {
			t.Errorf("kept %s", it.Key)
		}
	}
	if state.NotYet != 2 || state.Left != 0 {
		t.Errorf("not yet %d, left %d", state.NotYet, state.Left)
	}
}
