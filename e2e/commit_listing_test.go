package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// A backup of 200 photos of one folder in account mode: the account
// service checks their commits with listings of the folder, not with a
// HEAD each, and its index holds every photo with its size, checksum and
// device, counted once.
func TestAccountMode_CommitsCheckedByListing(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("lea@example.com", "lea-pass-77")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "lea@example.com", "lea-pass-77", "lea@example.com")
	const n, size = 200, 10 << 10
	sums := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("IMG_%04d.jpg", i)
		sums[id+"/laptop/pictures/"+name] = w.file(name, jpegHeader(t), size, uint64(i))
	}
	s.proxy.Reset()
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("backed up %d file(s)", n)) {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	// A commit that finds no company in its folder is checked with a HEAD.
	heads := s.proxy.CountRequests(http.MethodHead)
	t.Logf("%d photos: %d HEAD, %d GET (listings) requests to the storage", n, heads, s.proxy.CountRequests(http.MethodGet))
	if heads > n/10 {
		t.Errorf("%d HEAD requests for %d photos, want at most %d", heads, n, n/10)
	}

	ctx := context.Background()
	store, err := account.OpenSQLite(ctx, filepath.Join(filepath.Dir(s.outbox), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rows, err := store.IndexedObjects(ctx, id, id+"/", id+"/\U0010FFFF")
	if err != nil {
		t.Fatal(err)
	}
	var manifestSize int64 // the device's manifest, counted as any object
	rows = slices.DeleteFunc(rows, func(o account.StoredObject) bool {
		if strings.Contains(o.Key, "/.cloudkeep/") {
			manifestSize += o.Size
			return true
		}
		return false
	})
	if len(rows) != n {
		t.Fatalf("%d index rows, want %d", len(rows), n)
	}
	for _, o := range rows {
		if o.Size != size || o.SHA256 != sums[o.Key] || o.Device != "laptop" || o.ETag == "" {
			t.Errorf("index row %+v, want %d bytes, SHA-256 %s, device laptop", o, size, sums[o.Key])
		}
	}
	u, err := store.Usage(ctx, id, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u.Used != n*size+manifestSize || u.Objects != n+1 || u.Reserved != 0 {
		t.Errorf("usage %+v, want %d bytes in %d objects (the photos and the manifest), nothing reserved", u, n*size+manifestSize, n+1)
	}
}
