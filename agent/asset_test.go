package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestFollowKey(t *testing.T) {
	for _, tc := range []struct{ photoKey, photo, sidecar, want string }{
		{"alice/2024/01/photo.jpg", "photo.jpg", "photo.jpg.xmp", "alice/2024/01/photo.jpg.xmp"},
		{"alice/2024/01/photo~1f2e3d4c.jpg", "photo.jpg", "photo.jpg.xmp", "alice/2024/01/photo~1f2e3d4c.jpg.xmp"},
		{"alice/2024/01/photo~1f2e3d4c.jpg", "photo.jpg", "photo.xmp", "alice/2024/01/photo~1f2e3d4c.xmp"},
		{"alice/2024/01/IMG_0001.HEIC", "IMG_0001.HEIC", "IMG_0001.AAE", "alice/2024/01/IMG_0001.AAE"},
		{"alice/2024/01/IMG_0001.HEIC", "IMG_0001.HEIC", "img_0001.aae", "alice/2024/01/IMG_0001.aae"},
		{"alice/laptop/pictures/trip/b.jpg", "b.jpg", "b.jpg.xmp", "alice/laptop/pictures/trip/b.jpg.xmp"},
		{"alice/2024/01/50%25.jpg", "50%.jpg", "50%.jpg.xmp", "alice/2024/01/50%25.jpg.xmp"},
		// the other members of a group: a Live Photo's video, RAW+JPEG, Pixel's RAW pair
		{"alice/2024/01/IMG_0001~35656bb0.JPG", "IMG_0001.JPG", "IMG_0001.MOV", "alice/2024/01/IMG_0001~35656bb0.MOV"},
		{"alice/2024/01/IMG_0001.JPG", "IMG_0001.JPG", "IMG_0001.MOV", "alice/2024/01/IMG_0001.MOV"},
		{"alice/2024/01/DSC_0001~1f2e3d4c.JPG", "DSC_0001.JPG", "dsc_0001.nef", "alice/2024/01/DSC_0001~1f2e3d4c.nef"},
		{"a/PXL_1.RAW-01.COVER~1f2e3d4c.jpg", "PXL_1.RAW-01.COVER.jpg", "PXL_1.RAW-02.ORIGINAL.dng", "a/PXL_1.RAW-02.ORIGINAL~1f2e3d4c.dng"},
		{"a/PXL_1.RAW-01.COVER.jpg", "PXL_1.RAW-01.COVER.jpg", "PXL_1.RAW-01.COVER.jpg.xmp", "a/PXL_1.RAW-01.COVER.jpg.xmp"},
	} {
		got, ok := followKey(tc.photoKey, tc.photo, tc.sidecar)
		if !ok || got != tc.want {
			t.Errorf("followKey(%q, %q, %q) = %q, %v, want %q", tc.photoKey, tc.photo, tc.sidecar, got, ok, tc.want)
		}
	}
	if got, ok := followKey("alice/photo.jpg/x", "photo.jpg", "photo.jpg.xmp"); ok {
		t.Errorf("key without the photo's name at its end: got %q, want none", got)
	}
	if got, ok := followKey("alice/IMG_0001.JPG", "IMG_0001.JPG", "IMG_00012.MOV"); ok {
		t.Errorf("another name: got %q, want none", got)
	}
}

func TestSidecarPhoto(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"photo.jpg", "photo.png", "photo.jpg.xmp", "photo.xmp", "IMG_0001.MOV", "IMG_0001.HEIC", "IMG_0001.AAE", "lone.xmp", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ sidecar, want string }{
		{"photo.jpg.xmp", "photo.jpg"},
		{"photo.xmp", "photo.jpg"},
		{"IMG_0001.AAE", "IMG_0001.HEIC"}, // the photo, not the Live Photo's video
		{"lone.xmp", ""},
	} {
		got, _ := sidecarPhoto(dir, tc.sidecar)
		if got != tc.want {
			t.Errorf("sidecarPhoto(%q) = %q, want %q", tc.sidecar, got, tc.want)
		}
	}
}

func TestSkipReason(t *testing.T) {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		taken time.Time
		want  string
	}{
		{time.Date(2019, 5, 1, 12, 0, 0, 0, time.UTC), "captured 2019-05-01, before media.since 2024-01-01"},
		{time.Date(2023, 12, 31, 23, 59, 0, 0, time.FixedZone("", -5*3600)), "captured 2023-12-31, before media.since 2024-01-01"},
		{time.Date(2024, 1, 1, 0, 1, 0, 0, time.FixedZone("", 9*3600)), ""}, // the day it was taken there
		{time.Time{}, ""},
	} {
		if got := skipReason(tc.taken, since); got != tc.want {
			t.Errorf("skipReason(%v) = %q, want %q", tc.taken, got, tc.want)
		}
	}
	if got := skipReason(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}); got != "" {
		t.Errorf("no media.since: got %q, want none", got)
	}
}

// Two uploads in flight never claim one key for different contents: the
// second waits until the first claim ends; the same content may share it.
func TestMemo_Take(t *testing.T) {
	var m memo
	if ok, _ := m.take("k", 1, "aa"); !ok {
		t.Fatal("first claim refused")
	}
	ok, gone := m.take("k", 2, "bb")
	if ok {
		t.Fatal("another content claimed a claimed key")
	}
	if ok, _ := m.take("k", 3, "aa"); !ok {
		t.Error("the same content was refused")
	}
	select {
	case <-gone:
	default:
		t.Error("the claim waited for was replaced, and the waiter not told")
	}
	if ok, _ := m.take("k", 2, "bb"); ok {
		t.Error("another content claimed a claimed key")
	}
	if ok, _ := m.take("k2", 1, "aa"); !ok {
		t.Error("a free key was refused")
	}
	_, gone = m.take("k", 2, "bb")
	m.done(3)
	select {
	case <-gone:
	default:
		t.Error("a claim ended, and its waiter was not told")
	}
	if ok, _ := m.take("k", 2, "bb"); !ok {
		t.Error("a key whose claims all ended is still refused")
	}
}

func TestGroupMain(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"IMG_0777.MOV", "IMG_0777.JPG", "IMG_0777.JPG.xmp", "PXL_1.RAW-02.ORIGINAL.dng", "PXL_1.RAW-01.COVER.jpg", "DSC_1.NEF", "clip.mp4", "clip.mp4.xmp"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"IMG_0777.MOV", "IMG_0777.JPG"},
		{"IMG_0777.JPG", "IMG_0777.JPG"},
		{"PXL_1.RAW-02.ORIGINAL.dng", "PXL_1.RAW-01.COVER.jpg"},
		{"DSC_1.NEF", "DSC_1.NEF"},
		{"clip.mp4", "clip.mp4"},
	} {
		if got, _ := groupMain(dir, tc.name); got != tc.want {
			t.Errorf("groupMain(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A key the template gives a file, at any date, with or without a
// suffix; not one of another name, device or root.
func TestKeyTemplate_Gives(t *testing.T) {
	dated := KeyTemplate{Template: "{user}/{year}/{month}/{name}", User: "alice", Device: "laptop"}
	byPath := KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"}
	for _, tc := range []struct {
		t    KeyTemplate
		key  string
		rel  string
		want bool
	}{
		{dated, "alice/2024/05/ED.JPG", "trip/ED.JPG", true},
		{dated, "alice/2023/11/ED~e0ae3779.JPG", "trip/ED.JPG", true},
		{dated, "alice/2024/05/ED~e0ae3779e0ae3779.JPG", "ED.JPG", true},
		{dated, "alice/2024/05/a~12345678.jpg", "a~12345678.jpg", true},
		{dated, "alice/2024/05/EE.JPG", "ED.JPG", false},
		{dated, "bob/2024/05/ED.JPG", "ED.JPG", false},
		{dated, "alice/laptop/pictures/ED.JPG", "ED.JPG", false}, // another template's
		{byPath, "alice/laptop/pictures/trip/ED.JPG", "trip/ED.JPG", true},
		{byPath, "alice/laptop/pictures/trip/ED~e0ae3779.JPG", "trip/ED.JPG", true},
		{byPath, "alice/laptop/pictures/ED.JPG", "trip/ED.JPG", false},
		{byPath, "alice/phone/pictures/trip/ED.JPG", "trip/ED.JPG", false},
		{byPath, "alice/laptop/other/trip/ED.JPG", "trip/ED.JPG", false},
	} {
		if got := tc.t.Gives(tc.key, "pictures", tc.rel); got != tc.want {
			t.Errorf("%s Gives(%q, %q) = %v, want %v", tc.t.Template, tc.key, tc.rel, got, tc.want)
		}
	}
}

// A folder's listing serves every file of a burst into it, and a name
// added since is seen: the folder's modification time moved.
func TestStemCache_SeesNewNames(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("IMG_0001.JPG")
	write("IMG_0002.JPG")
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	c := &stemCache{folders: map[string]*stemListing{}}
	if got, ok := c.members(dir, "img_0001"); !ok || !slices.Equal(got, []string{"IMG_0001.JPG"}) {
		t.Fatalf("members: %v %v", got, ok)
	}
	if c.folders[dir] == nil {
		t.Fatal("the listing of a folder quiet for a minute was not kept")
	}
	write("IMG_0001.MOV")
	if got, _ := c.members(dir, "img_0001"); !slices.Equal(got, []string{"IMG_0001.JPG", "IMG_0001.MOV"}) {
		t.Errorf("after IMG_0001.MOV was added: %v", got)
	}
	// Listed within a stamp of the change, the folder is read again next
	// time: a change in the same stamp would not move its time.
	write("IMG_0001.AAE.jpg")
	if got, _ := c.members(dir, "img_0001"); len(got) != 2 {
		t.Errorf("second look: %v", got)
	}
	if got, _ := c.members(dir, "img_0001.aae"); !slices.Equal(got, []string{"IMG_0001.AAE.jpg"}) {
		t.Errorf("a name added within a stamp of the last listing is missing: %v", got)
	}
}
