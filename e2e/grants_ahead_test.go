package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Grants fetched ahead, as a backup pass asks for them a window at a time,
// serve the puts they were fetched for and no other: a file that changed
// since gets a grant of its own, a file that changed without its checksum
// being asked again is refused by the storage, a file that vanished leaves
// no object, and a disconnected device's next call is refused at once and
// drops the grants it holds.
func TestAccountMode_GrantsAhead(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("ida@example.com", "ida-pass-55")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("")
	w.login(s, id, "ida-pass-55", "ida@example.com")
	file := auth.File{Path: filepath.Join(w.state, auth.FileName)}
	creds, err := file.Load()
	if err != nil {
		t.Fatal(err)
	}
	g := storage.NewGranted(s.url, auth.NewSession(file, s.url, creds.ClientID), 0, zerolog.Nop())
	ctx := context.Background()
	key := func(name string) string { return creds.AccountID + "/laptop/photos/" + name }
	body := func(seed int) []byte { return bytes.Repeat([]byte{byte(seed)}, 10_000+seed) }
	intent := func(name string, b []byte) storage.Intent {
		sum := sha256.Sum256(b)
		return storage.Intent{Key: key(name), Size: int64(len(b)), CRC32C: crc32cOf(b),
			Meta: storage.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: time.Unix(1700000000, 0), Device: "laptop", ContentType: "image/jpeg"}}
	}
	put := func(in storage.Intent, b []byte) error {
		_, err := g.Put(ctx, in.Key, bytes.NewReader(b), int64(len(b)), in.CRC32C, in.Meta)
		return err
	}
	calls := func() int64 { return g.GrantCalls() }

	a, b, c, gone := intent("a.jpg", body(1)), intent("b.jpg", body(2)), intent("c.jpg", body(3)), intent("gone.jpg", body(4))
	before := calls()
	g.PutAhead(ctx, []storage.Intent{a, b, c, gone})
	if n := calls() - before; n != 1 {
		t.Fatalf("%d grant calls for 4 puts ahead, want 1", n)
	}

	before = calls()
	if err := put(a, body(1)); err != nil {
		t.Fatalf("put as granted ahead: %v", err)
	}
	if n := calls() - before; n != 0 {
		t.Errorf("the put granted ahead made %d grant calls, want 0", n)
	}
	changed := body(22)
	if err := put(intent("b.jpg", changed), changed); err != nil {
		t.Fatalf("put of a changed file: %v", err)
	}
	if n := calls() - before; n != 1 {
		t.Errorf("the changed file made %d grant calls, want 1 (a grant of its own)", n)
	}
	other := bytes.Repeat([]byte{9}, len(body(3)))
	if err := put(c, other); err == nil {
		t.Errorf("bytes other than the granted checksum's were stored")
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"a.jpg": body(1), "b.jpg": changed, "c.jpg": nil, "gone.jpg": nil} {
		if got := objectBytes(t, s, key(name)); !bytes.Equal(got, want) {
			t.Errorf("%s holds %d bytes, want %d", name, len(got), len(want))
		}
	}

	d := intent("d.jpg", body(5))
	g.PutAhead(ctx, []storage.Intent{d})
	s.disconnect(id, "ida-pass-55", "ida@example.com", creds.DeviceID)
	before = calls()
	if _, err := g.Stat(ctx, key("e.jpg")); !auth.IsSignedOut(err) {
		t.Errorf("stat after the disconnect: %v, want signed out", err)
	}
	if calls() == before {
		t.Errorf("the stat after the disconnect did not ask the account service")
	}
	if err := put(d, body(5)); !auth.IsSignedOut(err) {
		t.Errorf("put granted before the disconnect: %v, want signed out", err)
	}
	if got := objectBytes(t, s, key("d.jpg")); got != nil {
		t.Errorf("a disconnected device stored %d bytes with a grant it held", len(got))
	}
}

// objectBytes returns the object under key, nil when there is none.
func objectBytes(t *testing.T, s *stack, key string) []byte {
	t.Helper()
	o, err := s.srv.Client.GetObject(context.Background(), s.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func crc32cOf(b []byte) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// A burst of small files over the quota, with their grants asked a window
// at a time: the window that does not fit is refused as a whole, the files
// then ask one by one, and the bucket ends within the quota with every
// stored object whole.
func TestAccountMode_QuotaHoldsWithGrantsAhead(t *testing.T) {
	s := startStack(t, stackOptions{quota: "1MiB"})
	id := s.signup("jon@example.com", "jon-pass-66")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("")
	w.login(s, id, "jon-pass-66", "jon@example.com")
	jpg := jpegHeader(t)
	const files, size = 40, 40 << 10
	for i := range files {
		w.file(fmt.Sprintf("IMG_%02d.jpg", i), jpg, size, uint64(i+1))
	}
	res := w.run("backup")
	if res.code != 1 || !strings.Contains(res.stdout, "storage quota reached") {
		t.Errorf("backup over the quota: %d %q %q", res.code, res.stdout, res.stderr)
	}
	var total int64
	for key, n := range w.sizes() {
		if n != size {
			t.Errorf("%s holds %d bytes, want %d", key, n, size)
		}
		total += n
	}
	if total > 1<<20 || total == 0 {
		t.Errorf("the bucket holds %d bytes, want some and at most the quota (%d)", total, 1<<20)
	}
	t.Logf("%d of %d files stored within the quota", total/size, files)
}

// TestAccountMode_DisconnectedDevice for a backup pass, which asks for its
// grants ahead: a disconnected device is refused at its first call, says
// it is signed out and stores nothing.
func TestAccountMode_DisconnectedBackup(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("kim@example.com", "kim-pass-77")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("")
	w.login(s, id, "kim-pass-77", "kim@example.com")
	jpg := jpegHeader(t)
	w.file("first.jpg", jpg, 1000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %q %q", res.code, res.stdout, res.stderr)
	}
	creds, err := auth.File{Path: filepath.Join(w.state, auth.FileName)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	s.disconnect(id, "kim-pass-77", "kim@example.com", creds.DeviceID)
	for i := range 60 {
		w.file(fmt.Sprintf("IMG_%02d.jpg", i), jpg, 20<<10, uint64(i+2))
	}
	res := w.run("backup")
	if res.code != 1 || !strings.Contains(res.stdout+res.stderr, "signed out") {
		t.Errorf("backup after the disconnect: %d %q %q, want exit 1 and signed out", res.code, res.stdout, res.stderr)
	}
	if n := len(w.sizes()); n != 1 {
		t.Errorf("a disconnected device stored %d objects, want the 1 of before", n)
	}
}
