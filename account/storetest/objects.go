package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// RunObjects runs the storage gate's part of the suite against object
// stores made by open, a fresh one per test.
func RunObjects(t *testing.T, open func(t *testing.T) account.ObjectStore) {
	for name, test := range map[string]func(*testing.T, account.ObjectStore){
		"ReserveBurst":   testReserveBurst,
		"GrantPartBurst": testGrantPartBurst,
		"Index":          testIndex,
		"ExpiredPuts":    testExpiredPuts,
		"IndexMeta":      testIndexMeta,
		"Gallery":        testGallery,
		"ForgetObject":   testForgetObject,
	} {
		t.Run(name, func(t *testing.T) { test(t, open(t)) })
	}
}

// testReserveBurst: of 120 parallel reservations against room for 37,
// exactly 37 are taken.
func testReserveBurst(t *testing.T, s account.ObjectStore) {
	const k, n, size = 37, 120, 1000
	now := time.Unix(1000, 0)
	var next atomic.Int64 // each reservation its own ID: the same ID replaces, not adds
	got := parallel(n, func() (int, bool) {
		id := fmt.Sprintf("put:a/%d\n%d", next.Add(1), size)
		ok, err := s.Reserve(ctx, "1000000001", []account.Reservation{{ID: id, Key: id[4:], Size: size, Expires: now.Add(time.Minute)}},
			k*size, now)
		if err != nil {
			t.Error(err)
		}
		return 0, ok
	})
	if len(got) != k {
		t.Errorf("%d parallel reservations against room for %d: %d taken", n, k, len(got))
	}
	if u, err := s.Usage(ctx, "1000000001", k*size, now); err != nil || u.Reserved != k*size {
		t.Errorf("usage: %+v, %v; want %d reserved", u, err, k*size)
	}
}

// testGrantPartBurst: parts granted in parallel never add up to more than
// the upload reserved.
func testGrantPartBurst(t *testing.T, s account.ObjectStore) {
	now := time.Unix(1000, 0)
	r := account.Reservation{ID: "upload:u1", Key: "a/v.mp4", Size: 37, Expires: now.Add(time.Minute)}
	if ok, err := s.Reserve(ctx, "1000000001", []account.Reservation{r}, 0, now); !ok || err != nil {
		t.Fatalf("reserve: %v, %v", ok, err)
	}
	var part atomic.Int32
	got := parallel(100, func() (int, bool) {
		ok, err := s.GrantPart(ctx, "1000000001", "u1", "a/v.mp4", int(part.Add(1)), 1, now)
		if err != nil {
			t.Error(err)
		}
		return 0, ok
	})
	if len(got) != 37 {
		t.Errorf("granted %d parts of 1 byte for 37 reserved, want 37", len(got))
	}
	if ok, _ := s.GrantPart(ctx, "1000000001", "u1", "a/other.mp4", 200, 0, now); ok {
		t.Error("a part of the upload under another key was granted")
	}
	if err := s.Release(ctx, "1000000001", "upload:u1"); err != nil {
		t.Fatal(err)
	}
	s.Reserve(ctx, "1000000001", []account.Reservation{r}, 0, now)
	if ok, _ := s.GrantPart(ctx, "1000000001", "u1", "a/v.mp4", 1, 37, now); !ok {
		t.Error("the parts of a released upload still count")
	}
}

// testIndex: the index lists keys in byte order, whatever the database's
// locale, and usage follows every change.
func testIndex(t *testing.T, s account.ObjectStore) {
	now := time.Unix(1000, 0)
	keys := []string{"a/d/b.jpg", "a/d/B.jpg", "a/d/_x.jpg", "a/d/a b.jpg", "a/d/ä.jpg", "a/d/a.jpg", "a/d-e/a.jpg"}
	var objs []account.StoredObject
	for i, k := range keys {
		objs = append(objs, account.StoredObject{AccountID: "1000000001", Key: k, Size: int64(10 * (i + 1)), ETag: "e", Updated: now})
	}
	s.Reserve(ctx, "1000000001", []account.Reservation{{ID: "put:x", Key: "x", Size: 5, Expires: now.Add(time.Minute)}}, 0, now)
	if err := s.PutObjects(ctx, "1000000001", objs, []string{"put:x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.IndexedObjects(ctx, "1000000001", "a/d/", "a/d/\U0010FFFF")
	var names []string
	for _, o := range got {
		names = append(names, o.Key)
	}
	want := slices.Clone(keys[:6])
	slices.Sort(want)
	if err != nil || !slices.Equal(names, want) {
		t.Errorf("index: %q, %v; want %q", names, err, want)
	}
	if u, err := s.Usage(ctx, "1000000001", 0, now); err != nil || u.Used != 280 || u.Objects != 7 || u.Reserved != 0 {
		t.Errorf("usage: %+v, %v; want 280 bytes in 7 objects, none reserved", u, err)
	}
	if err := s.PutObject(ctx, account.StoredObject{AccountID: "1000000001", Key: "a/d/a.jpg", Size: 1}, ""); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage(ctx, "1000000001", 0, now); u.Used != 221 || u.Objects != 7 {
		t.Errorf("usage after a replaced object: %+v, want 221 bytes in 7 objects", u)
	}
	if err := s.ReplaceObjects(ctx, "1000000001", objs[:2]); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage(ctx, "1000000001", 0, now); u.Used != 30 || u.Objects != 2 {
		t.Errorf("usage after a recount: %+v, want 30 bytes in 2 objects", u)
	}
	s.SetQuota(ctx, "1000000002", 99)
	if ids, err := s.AccountIDs(ctx); err != nil || !slices.Equal(ids, []string{"1000000001"}) {
		t.Errorf("account IDs: %v, %v; want [1000000001]", ids, err)
	}
}

// testForgetObject: a forgotten object leaves the index and the usage,
// the account's other objects and another account's same key stay, and
// forgetting it again is not an error.
func testForgetObject(t *testing.T, s account.ObjectStore) {
	now := time.Unix(1000, 0)
	put := func(accountID, key string, size int64) {
		t.Helper()
		o := account.StoredObject{AccountID: accountID, Key: key, Size: size, ETag: "e", Updated: now}
		if err := s.PutObject(ctx, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	put("1000000001", "1000000001/d/a.jpg", 10)
	put("1000000001", "1000000001/d/b.jpg", 20)
	put("1000000002", "1000000001/d/a.jpg", 40)
	for range 2 {
		if err := s.ForgetObject(ctx, "1000000001", "1000000001/d/a.jpg"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.IndexedObjects(ctx, "1000000001", "1000000001/", "1000000001/\U0010FFFF")
	if err != nil || len(got) != 1 || got[0].Key != "1000000001/d/b.jpg" {
		t.Errorf("index after forgetting a.jpg: %+v, %v; want b.jpg alone", got, err)
	}
	if u, err := s.Usage(ctx, "1000000001", 0, now); err != nil || u.Used != 20 || u.Objects != 1 {
		t.Errorf("usage: %+v, %v; want 20 bytes in 1 object", u, err)
	}
	if u, err := s.Usage(ctx, "1000000002", 0, now); err != nil || u.Used != 40 || u.Objects != 1 {
		t.Errorf("the other account's usage: %+v, %v; want 40 bytes in 1 object", u, err)
	}
}

// testExpiredPuts: an expired put is found until released, and still
// counts; an expired multipart reservation does not.
func testExpiredPuts(t *testing.T, s account.ObjectStore) {
	now := time.Unix(1000, 0)
	rs := []account.Reservation{
		{ID: "put:a/x.jpg\n7", Key: "a/x.jpg", Size: 7, Expires: now.Add(-time.Second)},
		{ID: "put:a/y.jpg\n9", Key: "a/y.jpg", Size: 9, Expires: now.Add(time.Minute)},
		{ID: "upload:u9", Key: "a/z.mp4", Size: 11, Expires: now.Add(-time.Second)},
	}
	if ok, err := s.Reserve(ctx, "1000000001", rs, 0, now.Add(-time.Minute)); !ok || err != nil {
		t.Fatalf("reserve: %v, %v", ok, err)
	}
	got, err := s.ExpiredPuts(ctx, "1000000001", now, 10)
	if err != nil || len(got) != 1 || got[0].ID != rs[0].ID || got[0].Size != 7 || !got[0].Expires.Equal(rs[0].Expires) {
		t.Errorf("expired puts: %+v, %v; want %s", got, err, rs[0].ID)
	}
	if u, _ := s.Usage(ctx, "1000000001", 0, now); u.Reserved != 16 {
		t.Errorf("reserved %d, want 16 (both puts)", u.Reserved)
	}
	if got, err := s.Reservations(ctx, "1000000001", []string{"upload:u9", "unknown"}); err != nil || len(got) != 1 || got[0].Key != "a/z.mp4" {
		t.Errorf("reservations: %+v, %v", got, err)
	}
	if n, err := s.ReservedSize(ctx, "1000000001", "upload:u9", "a/z.mp4"); err != nil || n != 11 {
		t.Errorf("reserved size: %d, %v", n, err)
	}
	if err := s.RenameReservation(ctx, "1000000001", "upload:u9", "upload:u10", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ReservedSize(ctx, "1000000001", "upload:u9", "a/z.mp4"); n != -1 {
		t.Errorf("renamed reservation still under its old ID: %d", n)
	}
}

// testIndexMeta: what the metadata says of a photo (capture time with its
// offset, its source, group, motion mark) reads back as it was stored,
// through every way of writing the index.
func testIndexMeta(t *testing.T, s account.ObjectStore) {
	now := time.Unix(1000, 0)
	photo := account.StoredObject{AccountID: "1000000001", Key: "a/IMG_0001.JPG", Size: 3, ETag: "e1",
		SHA256: strings.Repeat("ab", 32), MTime: "2024-01-31T05:05:00.5Z", Device: "phone", Updated: now,
		Capture: "2024-01-31T14:05:00+09:00", CaptureSource: "exif", Group: "0123456789abcdef", Motion: true, Kind: account.KindPhoto}
	video := photo
	video.Key, video.ETag, video.Capture, video.CaptureSource, video.Motion = "a/IMG_0001.MOV", "e2", "2024-01-31T14:05:00.25+09:00", "video", false
	video.Kind = account.KindVideo
	plain := account.StoredObject{AccountID: "1000000001", Key: "a/notes.txt", Size: 1, ETag: "e3", Updated: now, Kind: account.KindOther}
	read := func(what string, want ...account.StoredObject) {
		t.Helper()
		got, err := s.IndexedObjects(ctx, "1000000001", "a/", "a/\U0010FFFF")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: index %+v, %v; want %+v", what, got, err, want)
		}
	}
	if err := s.PutObject(ctx, photo, ""); err != nil {
		t.Fatal(err)
	}
	read("PutObject", photo)
	if err := s.PutObjects(ctx, "1000000001", []account.StoredObject{video, plain}, nil); err != nil {
		t.Fatal(err)
	}
	read("PutObjects", photo, video, plain)
	replaced := photo
	replaced.ETag, replaced.Capture, replaced.CaptureSource, replaced.Group, replaced.Motion = "e4", "", "", "", false
	if err := s.PutObject(ctx, replaced, ""); err != nil {
		t.Fatal(err)
	}
	read("a replaced object", replaced, video, plain)
	if err := s.ReplaceObjects(ctx, "1000000001", []account.StoredObject{photo, video}); err != nil {
		t.Fatal(err)
	}
	read("ReplaceObjects", photo, video)
}
