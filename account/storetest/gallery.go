package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// galleryRows are one account's files as the gallery tests know them, the
// account's ID left out of their keys ("A/" stands for it), with another
// account's photo taken at the same time.
var galleryRows = []account.StoredObject{
	{Key: "A/laptop/back\\slash.jpg", Device: "laptop", Capture: "2024-03-01T12:00:00Z"},
	{Key: "A/laptop/Pictures/tokyo.jpg", Device: "laptop", Capture: "2024-01-31T23:30:00+09:00", Group: "g1"}, // 14:30 UTC
	{Key: "A/phone/DCIM/kiribati.JPG", Device: "phone", Capture: "2024-02-01T00:30:00+14:00"},                 // 10:30 UTC on the 31st
	{Key: "A/phone/DCIM/live.heic", Device: "phone", Capture: "2024-01-15T10:00:00Z", Group: "g2"},            // a tie with live.mov
	{Key: "A/phone/DCIM/live.mov", Device: "phone", Capture: "2024-01-15T11:00:00+01:00", Group: "g2"},        // the same instant
	{Key: "A/laptop/Pictures/live.xmp", Device: "laptop", Capture: "2024-01-15T10:00:00Z", Group: "g2"},       // a sidecar
	{Key: "A/camera/raw/IMG_1.CR2", Device: "camera", Capture: "2023-12-31T23:59:59-10:00"},                   // 1 January in UTC
	{Key: "A/laptop/Docs/100%_Done.PDF", Device: "laptop"},                                                    // no capture: the file's time
	{Key: "A/laptop/Docs/100x_done.pdf", Device: "laptop", MTime: "2023-06-30T23:30:00.123456789-02:00"},      // 1 July in UTC
	{Key: "A/laptop/Docs/undated.txt", Device: "laptop", MTime: "yesterday"},                                  // no time at all
	{Key: "A/laptop/moon.mp4", Device: "laptop", Capture: "1969-07-20T20:17:00Z"},                             // before 1970
	{Key: "A/.thumbs/abc.jpg", Device: "tablet", Capture: "2024-01-20T00:00:00Z", Group: "g2"},                // hidden
	{Key: "A/laptop/.cloudkeep/manifest.json", Device: "laptop", Capture: "2025-01-01T00:00:00Z"},             // hidden
	{Key: "B/phone/DCIM/tokyo.jpg", Device: "phone", Capture: "2024-01-31T23:30:00+09:00", Group: "g2"},       // another account
	{Key: "B/other/DCIM/x.jpg", Device: "other", Capture: "2030-01-31T23:30:00+09:00"},                        // another account
}

const galleryA, galleryB = "1000000001", "1000000002"

// putGalleryRows stores galleryRows, their file's time 1 May 2024 unless
// they say.
func putGalleryRows(t *testing.T, s account.ObjectStore) {
	t.Helper()
	byAccount := map[string][]account.StoredObject{}
	for _, o := range galleryRows {
		id := map[string]string{"A": galleryA, "B": galleryB}[o.Key[:1]]
		o.AccountID, o.Key, o.Size, o.ETag, o.MTime = id, id+o.Key[1:], 1, "e", cmp.Or(o.MTime, "2024-05-01T00:00:00Z")
		byAccount[id] = append(byAccount[id], o)
	}
	for id, objs := range byAccount {
		if err := s.PutObjects(ctx, id, objs, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// rels are the keys of objs after "<account>/".
func rels(objs []account.StoredObject) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = strings.TrimPrefix(o.Key, o.AccountID+"/")
	}
	return out
}

// testGallery: the gallery's queries list an account's photos, videos and
// other files, never sidecars, hidden keys or another account's rows, in
// gallery order, through every filter. A file without a capture time is
// where its file's time puts it, and a date filter finds it by that.
func testGallery(t *testing.T, s account.ObjectStore) {
	putGalleryRows(t, s)
	page := func(t *testing.T, f account.GalleryFilter, after account.GalleryCursor, newer bool, limit int) []string {
		t.Helper()
		got, err := s.GalleryPage(ctx, galleryA, f, after, newer, limit)
		if err != nil {
			t.Fatalf("gallery %+v: %v", f, err)
		}
		return rels(got)
	}
	all := []string{"laptop/Docs/100%_Done.PDF", "laptop/back\\slash.jpg", "laptop/Pictures/tokyo.jpg", "phone/DCIM/kiribati.JPG",
		"phone/DCIM/live.mov", "phone/DCIM/live.heic", "camera/raw/IMG_1.CR2", "laptop/Docs/100x_done.pdf", "laptop/Docs/undated.txt",
		"laptop/moon.mp4"}
	for _, tc := range []struct {
		name string
		f    account.GalleryFilter
		want []string
	}{
		{"all", account.GalleryFilter{}, all},
		{"photos", account.GalleryFilter{Kind: account.KindPhoto},
			[]string{"laptop/back\\slash.jpg", "laptop/Pictures/tokyo.jpg", "phone/DCIM/kiribati.JPG", "phone/DCIM/live.heic", "camera/raw/IMG_1.CR2"}},
		{"videos", account.GalleryFilter{Kind: account.KindVideo}, []string{"phone/DCIM/live.mov", "laptop/moon.mp4"}},
		{"other", account.GalleryFilter{Kind: account.KindOther}, []string{"laptop/Docs/100%_Done.PDF", "laptop/Docs/100x_done.pdf", "laptop/Docs/undated.txt"}},
		{"device", account.GalleryFilter{Device: "phone"}, []string{"phone/DCIM/kiribati.JPG", "phone/DCIM/live.mov", "phone/DCIM/live.heic"}},
		{"device of hidden rows only", account.GalleryFilter{Device: "tablet"}, nil},
		{"January, Tokyo's 31st", account.GalleryFilter{Month: "2024-01"},
			[]string{"laptop/Pictures/tokyo.jpg", "phone/DCIM/live.mov", "phone/DCIM/live.heic"}},
		{"February, Kiribati's 1st", account.GalleryFilter{Month: "2024-02"}, []string{"phone/DCIM/kiribati.JPG"}},
		{"December in Hawaii", account.GalleryFilter{Month: "2023-12"}, []string{"camera/raw/IMG_1.CR2"}},
		{"year", account.GalleryFilter{Month: "2023"}, []string{"camera/raw/IMG_1.CR2", "laptop/Docs/100x_done.pdf"}},
		{"year 2024", account.GalleryFilter{Month: "2024"}, all[:6]},
		{"May by the file's time", account.GalleryFilter{Month: "2024-05"}, []string{"laptop/Docs/100%_Done.PDF"}},
		{"June by the file's own clock", account.GalleryFilter{Month: "2023-06"}, []string{"laptop/Docs/100x_done.pdf"}},
		{"not July in UTC", account.GalleryFilter{Month: "2023-07"}, nil},
		{"day by the file's time", account.GalleryFilter{Day: "2023-06-30"}, []string{"laptop/Docs/100x_done.pdf"}},
		{"day by the file's time in UTC", account.GalleryFilter{Day: "2023-07-01"}, nil},
		{"before 1970", account.GalleryFilter{Month: "1969-07"}, []string{"laptop/moon.mp4"}},
		{"day 31", account.GalleryFilter{Day: "2024-01-31"}, []string{"laptop/Pictures/tokyo.jpg"}},
		{"day 1", account.GalleryFilter{Day: "2024-02-01"}, []string{"phone/DCIM/kiribati.JPG"}},
		{"day and another month", account.GalleryFilter{Month: "2024-01", Day: "2024-02-01"}, nil},
		{"search %", account.GalleryFilter{Search: "%"}, []string{"laptop/Docs/100%_Done.PDF"}},
		{"search _", account.GalleryFilter{Search: "_"}, []string{"laptop/Docs/100%_Done.PDF", "camera/raw/IMG_1.CR2", "laptop/Docs/100x_done.pdf"}},
		{"search _ as itself", account.GalleryFilter{Search: "0_"}, nil},
		{"search mixed case", account.GalleryFilter{Search: "100X_DONE"}, []string{"laptop/Docs/100x_done.pdf"}},
		{"search file name", account.GalleryFilter{Search: "dOnE.Pdf"}, []string{"laptop/Docs/100%_Done.PDF", "laptop/Docs/100x_done.pdf"}},
		{"search backslash", account.GalleryFilter{Search: `k\s`}, []string{"laptop/back\\slash.jpg"}},
		{"search folder", account.GalleryFilter{Search: "dcim/live"}, []string{"phone/DCIM/live.mov", "phone/DCIM/live.heic"}},
		{"search the account ID", account.GalleryFilter{Search: galleryA}, nil},
		{"search hidden", account.GalleryFilter{Search: "thumbs"}, nil},
		{"search sidecar", account.GalleryFilter{Search: ".xmp"}, nil},
		{"device, kind and month", account.GalleryFilter{Device: "phone", Kind: account.KindPhoto, Month: "2024-01"}, []string{"phone/DCIM/live.heic"}},
		{"device and search", account.GalleryFilter{Device: "laptop", Search: "DO"},
			[]string{"laptop/Docs/100%_Done.PDF", "laptop/Docs/100x_done.pdf", "laptop/Docs/undated.txt"}},
		{"kind and year", account.GalleryFilter{Kind: account.KindVideo, Month: "2024"}, []string{"phone/DCIM/live.mov"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := page(t, tc.f, account.GalleryCursor{}, false, 100); !slices.Equal(got, tc.want) {
				t.Errorf("gallery %+v:\n got %q\nwant %q", tc.f, got, tc.want)
			}
			rev := slices.Clone(tc.want)
			slices.Reverse(rev)
			if got := page(t, tc.f, account.GalleryCursor{}, true, 100); !slices.Equal(got, rev) {
				t.Errorf("gallery %+v, oldest first:\n got %q\nwant %q", tc.f, got, rev)
			}
		})
	}
	t.Run("cursor", func(t *testing.T) {
		rows, err := s.GalleryPage(ctx, galleryA, account.GalleryFilter{}, account.GalleryCursor{}, false, 5)
		if err != nil || len(rows) != 5 {
			t.Fatalf("first page: %d rows, %v; want 5", len(rows), err)
		}
		if rows[4].Kind != account.KindVideo || rows[0].Kind != account.KindOther || rows[1].Kind != account.KindPhoto {
			t.Errorf("kinds %q, %q, %q; want video, other, photo", rows[4].Kind, rows[0].Kind, rows[1].Kind)
		}
		if got := page(t, account.GalleryFilter{}, rows[4].Cursor(), false, 3); !slices.Equal(got, all[5:8]) {
			t.Errorf("after %s: %q, want %q", rows[4].Key, got, all[5:8])
		}
		want := []string{all[3], all[2]}
		if got := page(t, account.GalleryFilter{}, rows[4].Cursor(), true, 2); !slices.Equal(got, want) {
			t.Errorf("newer than %s: %q, want %q", rows[4].Key, got, want)
		}
		// A row placed by its file's time, to the nanosecond.
		older, err := s.GalleryPage(ctx, galleryA, account.GalleryFilter{}, rows[4].Cursor(), false, 3)
		if err != nil || len(older) != 3 || rels(older)[2] != all[7] {
			t.Fatalf("after %s: %q, %v", rows[4].Key, rels(older), err)
		}
		if got := page(t, account.GalleryFilter{}, older[2].Cursor(), false, 5); !slices.Equal(got, all[8:]) {
			t.Errorf("after %s: %q, want %q", older[2].Key, got, all[8:])
		}
		if got := page(t, account.GalleryFilter{}, older[2].Cursor(), true, 1); !slices.Equal(got, all[6:7]) {
			t.Errorf("newer than %s: %q, want %q", older[2].Key, got, all[6:7])
		}
		if got := page(t, account.GalleryFilter{}, rows[0].Cursor(), true, 2); len(got) != 0 {
			t.Errorf("newer than the newest: %q", got)
		}
	})
	t.Run("groups", func(t *testing.T) {
		got, err := s.GroupObjects(ctx, galleryA, []string{"g2", "", "nope"})
		want := []string{"laptop/Pictures/live.xmp", "phone/DCIM/live.heic", "phone/DCIM/live.mov"}
		if err != nil || !slices.Equal(rels(got), want) {
			t.Errorf("group g2: %q, %v; want %q", rels(got), err, want)
		}
		if got, err := s.GroupObjects(ctx, galleryA, []string{""}); err != nil || len(got) != 0 {
			t.Errorf("the empty group: %q, %v; want none", rels(got), err)
		}
	})
	t.Run("lookup", func(t *testing.T) {
		got, err := s.LookupObjects(ctx, galleryA, []string{galleryA + "/phone/DCIM/kiribati.JPG", galleryB + "/phone/DCIM/tokyo.jpg",
			galleryA + "/nope.jpg", galleryA + "/.thumbs/abc.jpg", "phone/DCIM/kiribati.JPG"})
		if err != nil || len(got) != 2 {
			t.Fatalf("lookup: %q, %v; want 2 rows", rels(got), err)
		}
		if got[0].Kind != account.KindHidden || got[1].Kind != account.KindPhoto || got[1].Device != "phone" ||
			got[1].Capture != "2024-02-01T00:30:00+14:00" || got[1].MTime != "2024-05-01T00:00:00Z" {
			t.Errorf("lookup: %+v", got)
		}
	})
	t.Run("facets", func(t *testing.T) {
		got, err := s.GalleryFacets(ctx, galleryA)
		want := account.GalleryFacets{Devices: []string{"camera", "laptop", "phone"},
			FirstNanos: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC).UnixNano(),
			LastNanos:  time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
		if err != nil || !slices.Equal(got.Devices, want.Devices) || got.FirstNanos != want.FirstNanos || got.LastNanos != want.LastNanos {
			t.Errorf("facets: %+v, %v; want %+v", got, err, want)
		}
		if got, err := s.GalleryFacets(ctx, "1000000009"); err != nil || len(got.Devices) != 0 || got.FirstNanos != 0 || got.LastNanos != 0 {
			t.Errorf("facets of an empty account: %+v, %v", got, err)
		}
	})
	t.Run("paging", func(t *testing.T) { testGalleryPaging(t, s) })
}

// testGalleryPaging: pages of 23 (an odd size, so that pages end inside
// groups of rows taken at one instant) through 1,000 rows, many taken at the same
// instant in different zones, reach every row once, in order, both ways,
// whatever the filter.
func testGalleryPaging(t *testing.T, s account.ObjectStore) {
	const id = "1000000003"
	base := time.Date(2024, 1, 28, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("", 9*3600), time.FixedZone("", -10*3600), time.FixedZone("", 14*3600)}
	exts := []string{".jpg", ".mp4", ".pdf", ".HEIC", ".xmp"}
	var objs []account.StoredObject
	for i := range 1100 {
		o := account.StoredObject{AccountID: id, Size: 1, ETag: "e", Device: fmt.Sprintf("dev%d", i%3),
			Key: fmt.Sprintf("%s/dev%d/p/%04d%s", id, i%3, i*7919%1100, exts[i%len(exts)])}
		if i%41 != 0 {
			o.Capture = base.Add(time.Duration(i/3) * 61 * time.Minute).In(zones[i%len(zones)]).Format(time.RFC3339)
		} else if i%82 != 0 {
			o.MTime = base.Add(time.Duration(i)*37*time.Minute + time.Duration(i)).In(zones[i%len(zones)]).Format(time.RFC3339Nano)
		}
		if i%50 == 0 {
			o.Key = fmt.Sprintf("%s/.thumbs/%04d.jpg", id, i)
		}
		objs = append(objs, o)
	}
	for b := range slices.Chunk(objs, 500) {
		if err := s.PutObjects(ctx, id, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []account.GalleryFilter{{}, {Device: "dev1"}, {Kind: account.KindVideo}, {Month: "2024-02"},
		{Day: "2024-02-01"}, {Search: "1"}, {Device: "dev2", Month: "2024-01", Search: "0"}} {
		want := galleryModel(id, objs, f)
		if f == (account.GalleryFilter{}) && len(want) < 850 {
			t.Fatalf("the model lists %d rows", len(want))
		}
		for _, newer := range []bool{false, true} {
			if newer {
				slices.Reverse(want)
			}
			var got []string
			var after account.GalleryCursor
			for range 1000 {
				rows, err := s.GalleryPage(ctx, id, f, after, newer, 23)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range rows {
					got = append(got, o.Key)
				}
				if len(rows) < 23 {
					break
				}
				after = rows[len(rows)-1].Cursor()
			}
			if !slices.Equal(got, want) {
				t.Errorf("filter %+v, newer %v: paged through %d rows, want %d in order", f, newer, len(got), len(want))
			}
		}
	}
}

// galleryModel is what GalleryPage lists of objs under f, in gallery
// order, as the documentation says: a date filter tests the capture time,
// else the file's time.
func galleryModel(id string, objs []account.StoredObject, f account.GalleryFilter) []string {
	var sel []account.StoredObject
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, id+"/")
		date := cmp.Or(o.Capture, o.MTime)
		kind := map[string]string{".jpg": account.KindPhoto, ".heic": account.KindPhoto, ".mp4": account.KindVideo,
			".pdf": account.KindOther, ".xmp": account.KindSidecar}[strings.ToLower(rel[strings.LastIndex(rel, "."):])]
		switch {
		case strings.HasPrefix(rel, "."), kind == account.KindSidecar, f.Kind != "" && kind != f.Kind,
			f.Device != "" && o.Device != f.Device,
			f.Month != "" && (date == "" || !strings.HasPrefix(date, f.Month)),
			f.Day != "" && (date == "" || !strings.HasPrefix(date, f.Day)),
			!strings.Contains(strings.ToLower(rel), strings.ToLower(f.Search)):
			continue
		}
		sel = append(sel, o)
	}
	slices.SortFunc(sel, func(a, b account.StoredObject) int {
		return cmp.Or(cmp.Compare(b.CaptureNanos(), a.CaptureNanos()), strings.Compare(b.Key, a.Key))
	})
	out := make([]string, len(sel))
	for i, o := range sel {
		out[i] = o.Key
	}
	return out
}
