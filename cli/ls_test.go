package cli

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/restore"
)

func TestPrintItems(t *testing.T) {
	items := []restore.Item{
		{Rel: "laptop/pictures/a.jpg", Device: "laptop", Size: 2048, Capture: time.Date(2024, 5, 1, 12, 0, 0, 0, time.Local), CaptureSource: "mtime"},
		{Rel: "laptop/pictures/new\nline.jpg", Device: "laptop"},
		{Rel: "laptop/pictures/\x1b[31mred.jpg", Device: "laptop"},
		{Rel: "laptop/pictures/caf\xe9.jpg", Device: "laptop"},
	}
	for _, tc := range []struct {
		name string
		long bool
		want string
	}{
		{"short", false, "laptop/pictures/a.jpg\n\"laptop/pictures/new\\nline.jpg\"\n\"laptop/pictures/\\x1b[31mred.jpg\"\n\"laptop/pictures/caf\\xe9.jpg\"\n"},
		{"long", true, "   2.0 KiB  2024-05-01 12:00 (mtime)   laptop        laptop/pictures/a.jpg\n" +
			"       0 B  0001-01-01 00:00           laptop        \"laptop/pictures/new\\nline.jpg\"\n" +
			"       0 B  0001-01-01 00:00           laptop        \"laptop/pictures/\\x1b[31mred.jpg\"\n" +
			"       0 B  0001-01-01 00:00           laptop        \"laptop/pictures/caf\\xe9.jpg\"\n" +
			"4 file(s), 2.0 KiB\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printItems(&b, items, tc.long)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// A group is one line: its photo, then "+ " and the other files by name,
// then what it is; --long shows when it was taken as it was taken.
func TestPrintItems_Groups(t *testing.T) {
	tokyo := time.FixedZone("", 9*3600)
	taken := time.Date(2024, 1, 31, 14, 5, 0, 0, tokyo)
	live := func(rel string, size int64) restore.Item {
		return restore.Item{Rel: rel, Key: "alice/" + rel, Device: "phone", Size: size, Capture: taken, CaptureSource: "exif", Group: "0011223344556677"}
	}
	items := []restore.Item{
		live("phone/camera/IMG_0001.AAE", 1024),
		live("phone/camera/IMG_0001.HEIC", 2<<20),
		live("phone/camera/IMG_0001.MOV", 3<<20),
		{Rel: "phone/camera/IMG_20240131_140500.jpg", Key: "alice/phone/camera/IMG_20240131_140500.jpg", Device: "phone", Size: 1 << 20,
			Capture: time.Date(2024, 1, 31, 14, 5, 0, 0, time.FixedZone("", -5*3600)), CaptureSource: "name"},
		{Rel: "phone/camera/PXL_20240131_101112345.MP.jpg", Key: "alice/phone/camera/PXL_20240131_101112345.MP.jpg", Device: "phone", Size: 4 << 20,
			Capture: time.Date(2024, 1, 31, 10, 11, 12, 0, time.UTC), CaptureSource: "video", Motion: true},
	}
	var b bytes.Buffer
	printItems(&b, items, false)
	want := "phone/camera/IMG_0001.HEIC + IMG_0001.MOV, IMG_0001.AAE (Live Photo, sidecar)\n" +
		"phone/camera/IMG_20240131_140500.jpg\n" +
		"phone/camera/PXL_20240131_101112345.MP.jpg (motion photo)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printItems(&b, items, true)
	want = "   5.0 MiB  2024-01-31 14:05 +09:00    phone         phone/camera/IMG_0001.HEIC + IMG_0001.MOV, IMG_0001.AAE (Live Photo, sidecar)\n" +
		"   1.0 MiB  2024-01-31 14:05 (name)    phone         phone/camera/IMG_20240131_140500.jpg\n" +
		"   4.0 MiB  2024-01-31 10:11 +00:00    phone         phone/camera/PXL_20240131_101112345.MP.jpg (motion photo)\n" +
		"5 file(s), 10 MiB\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestRestoreFlags_Filter(t *testing.T) {
	for _, tc := range []struct {
		f    restoreFlags
		want string
	}{
		{restoreFlags{since: "2024-01-01", until: "2024-01-31"}, ""},
		{restoreFlags{since: "2024-01-31", until: "2024-01-31"}, ""},
		{restoreFlags{since: "2024-02-01", until: "2024-01-31"}, "--since 2024-02-01 is after --until 2024-01-31: no day is in between"},
		{restoreFlags{since: "31/01/2024"}, `--since "31/01/2024": want a date such as 2024-06-01`},
		{restoreFlags{until: "2024-13-01"}, `--until "2024-13-01": want a date such as 2024-06-30`},
	} {
		_, err := tc.f.filter()
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.f, err, tc.want)
		}
	}
}

func TestLsNoMatch(t *testing.T) {
	for f, want := range map[restoreFlags]string{
		{}:                                     "this account has no backed-up files",
		{prefix: "dev3/"}:                      `no backed-up file matches prefix "dev3/"`,
		{device: "phone", since: "2024-01-01"}: `no backed-up file matches --device "phone" --since 2024-01-01`,
		{since: "2024-01-01", until: "2024-01-31"}: `no backed-up file matches --since 2024-01-01 --until 2024-01-31`,
	} {
		if got := lsNoMatch(f).Error(); got != want {
			t.Errorf("%+v: got %q, want %q", f, got, want)
		}
	}
}
