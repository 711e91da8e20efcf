package capture

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// The tests read wall clocks without an offset in a zone of their own, so
// that they pass whatever this machine's zone is.
func TestMain(m *testing.M) {
	time.Local = time.FixedZone("TEST", -5*3600)
	os.Exit(m.Run())
}

var mtime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// write writes b as name in a temporary directory with mtime.
func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	mediatest.Write(t, path, b, mtime)
	return path
}

// readFile writes b as name in a temporary directory with mtime, and
// reads it.
func readFile(t *testing.T, name string, b []byte) Info {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	mediatest.Write(t, path, b, mtime)
	info, err := Read(path, mtime)
	if err != nil {
		t.Fatalf("Read %s: %v", name, err)
	}
	return info
}

func TestRead_Sources(t *testing.T) {
	dto := "2024:01:31 14:05:00"
	jpg := func(e mediatest.EXIF) []byte { return mediatest.JPEG(t, 32, 24, e) }
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       string // RFC 3339
		source     string
	}{
		{"exif with offset", "DSC_0001.JPG", jpg(mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+09:00"}),
			"2024-01-31T14:05:00+09:00", wire.CaptureEXIF},
		{"exif negative offset", "DSC_0001.JPG", jpg(mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "-03:30"}),
			"2024-01-31T14:05:00-03:30", wire.CaptureEXIF},
		{"exif offset +00:00 is kept", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+00:00"}),
			"2024-01-31T14:05:00Z", wire.CaptureEXIF},
		{"exif without offset is local", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: dto}),
			"2024-01-31T14:05:00-05:00", wire.CaptureEXIF},
		{"exif falls back to OffsetTime", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: dto, OffsetTime: "+02:00"}),
			"2024-01-31T14:05:00+02:00", wire.CaptureEXIF},
		{"exif subseconds", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+01:00", SubSecTimeOriginal: "250"}),
			"2024-01-31T14:05:00.25+01:00", wire.CaptureEXIF},
		{"exif beats the name", "IMG_20200101_000000.jpg", jpg(mediatest.EXIF{DateTimeOriginal: dto}),
			"2024-01-31T14:05:00-05:00", wire.CaptureEXIF},
		{"zero exif date falls to the name", "IMG_20230415_101112.jpg", jpg(mediatest.EXIF{DateTimeOriginal: "0000:00:00 00:00:00"}),
			"2023-04-15T10:11:12-05:00", wire.CaptureName},
		{"blank exif date falls to mtime", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: "    :  :     :  :  "}),
			"2025-06-01T07:00:00-05:00", wire.CaptureMTime},
		{"short exif date falls to mtime", "a.jpg", jpg(mediatest.EXIF{DateTimeOriginal: "2024:01"}),
			"2025-06-01T07:00:00-05:00", wire.CaptureMTime},
		{"no exif: name", "IMG_20240131_140500.jpg", jpg(mediatest.EXIF{}),
			"2024-01-31T14:05:00-05:00", wire.CaptureName},
		{"no date at all: mtime", "holiday.jpg", jpg(mediatest.EXIF{Orientation: 1}),
			"2025-06-01T07:00:00-05:00", wire.CaptureMTime},
		{"dng", "PXL_20200101_000000000.RAW-02.ORIGINAL.dng", mediatest.DNG(t, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+09:00", Make: "Google", Model: "Pixel 8"}, 64, 48),
			"2024-01-31T14:05:00+09:00", wire.CaptureEXIF},
		{"heic", "IMG_0001.HEIC", mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+09:00", Make: "Apple"}),
			"2024-01-31T14:05:00+09:00", wire.CaptureEXIF},
		{"cr3", "IMG_0001.CR3", mediatest.CR3(t, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+09:00", Make: "Canon", Model: "Canon EOS R5"}),
			"2024-01-31T14:05:00+09:00", wire.CaptureEXIF},
		{"mov creationdate beats mvhd", "IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0900"}),
			"2024-01-31T14:05:00+09:00", wire.CaptureVideo},
		{"mov ©day beats mvhd", "clip.mov", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Day: "2024-01-31T14:05:00+0100"}),
			"2024-01-31T14:05:00+01:00", wire.CaptureVideo},
		{"mov bare ©day year does not beat mvhd", "clip.mov", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), Day: "2024"}),
			"2024-01-31T00:05:00-05:00", wire.CaptureVideo},
		{"mp4 mvhd alone, shown local", "clip.mp4", mediatest.MP4(t, time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC)),
			"2024-01-31T00:05:00-05:00", wire.CaptureVideo},
		{"mp4 mvhd unset: name", "VID_20240131_140500.mp4", mediatest.MP4(t, time.Time{}),
			"2024-01-31T14:05:00-05:00", wire.CaptureName},
		{"whatsapp video name", "VID-20240131-WA0001.mp4", mediatest.MP4(t, time.Time{}),
			"2024-01-31T00:00:00-05:00", wire.CaptureName},
		{"mp4 mvhd unset, no name: mtime", "clip.mp4", mediatest.MP4(t, time.Time{}),
			"2025-06-01T07:00:00-05:00", wire.CaptureMTime},
		{"png: name", "Screenshot_2024-01-31-14-05-00.png", mediatest.PNG(t, 8, 8),
			"2024-01-31T14:05:00-05:00", wire.CaptureName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := readFile(t, tc.file, tc.data)
			if got := info.Time.Format(time.RFC3339Nano); got != tc.want || info.Source != tc.source {
				t.Errorf("got %s from %q, want %s from %q", got, info.Source, tc.want, tc.source)
			}
		})
	}
}

func TestRead_OffsetKeepsWallClock(t *testing.T) {
	info := readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:01:31 23:30:00", OffsetTimeOriginal: "+09:00"}))
	if y, m, d := info.Time.Date(); y != 2024 || m != 1 || d != 31 || info.Time.Hour() != 23 {
		t.Errorf("wall clock %v, want 2024-01-31 23:30 (the day it was taken there)", info.Time)
	}
	if _, off := info.Time.Zone(); off != 9*3600 {
		t.Errorf("offset %d s, want %d", off, 9*3600)
	}
	if want := time.Date(2024, 1, 31, 14, 30, 0, 0, time.UTC); !info.Time.Equal(want) {
		t.Errorf("instant %v, want %v", info.Time.UTC(), want)
	}
}

func TestRead_MVHDIsUTC(t *testing.T) {
	created := time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC)
	info := readFile(t, "clip.mp4", mediatest.MP4(t, created))
	if !info.Time.Equal(created) || info.Time.Location() != time.Local {
		t.Errorf("got %v, want %v in time.Local", info.Time, created)
	}
}

func TestRead_Orientation(t *testing.T) {
	for _, o := range []int{0, 1, 6, 8} {
		info := readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{Orientation: o, Make: "x"}))
		if info.Orientation != o {
			t.Errorf("orientation %d, want %d", info.Orientation, o)
		}
	}
	info := readFile(t, "a.dng", mediatest.DNG(t, mediatest.EXIF{Orientation: 6}, 16, 16))
	if info.Orientation != 6 {
		t.Errorf("DNG orientation %d, want 6", info.Orientation)
	}
	info = readFile(t, "a.heic", mediatest.HEIC(t, mediatest.EXIF{Orientation: 6}))
	if info.Orientation != 6 {
		t.Errorf("HEIC orientation %d, want 6", info.Orientation)
	}
}

func TestRead_ContentID(t *testing.T) {
	id := "A1B2C3D4-0000-4000-8000-000000000001"
	info := readFile(t, "IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{CreationDate: "2024-01-31T14:05:00+0900", ContentID: id}))
	if info.ContentID != id {
		t.Errorf("ContentID %q, want %q", info.ContentID, id)
	}
	info = readFile(t, "IMG_0002.MOV", mediatest.MOV(t, mediatest.MOVMeta{}))
	if info.ContentID != "" {
		t.Errorf("ContentID %q, want none", info.ContentID)
	}
}

func TestRead_Motion(t *testing.T) {
	plain := mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00"})
	// A Samsung motion photo: the JPEG, then far past the first 64 KiB
	// the marker and the video.
	samsung := append(append([]byte(nil), plain...), make([]byte, 200<<10)...)
	samsung = append(samsung, mediatest.SamsungTrailer...)
	samsung = append(samsung, mediatest.MP4(t, time.Time{})...)
	appended := append(append([]byte(nil), plain...), mediatest.MP4(t, time.Time{})...)
	// An Ultra HDR motion photo: the still, its gain map, then the video.
	withGainMap := append(append([]byte(nil), plain...), mediatest.JPEG(t, 8, 8, mediatest.EXIF{})...)
	withGainMap = append(withGainMap, mediatest.MP4(t, time.Time{})...)
	ftypInside := mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", Make: "\x00\x00\x00\x18ftypisom"})
	for _, tc := range []struct {
		file string
		data []byte
		want bool
	}{
		{"IMG_20240131_140500.jpg", plain, false},
		// A motion photo's name without a video inside is a still.
		{"MVIMG_20240131_140500.jpg", plain, false},
		{"PXL_20240131_140500123.MP.jpg", plain, false},
		{"PXL_20240131_140500123.MP.JPG", plain, false},
		{"MVIMG_20240131_140500.jpg", mediatest.WithXMP(t, plain, mediatest.MotionXMP), true},
		// The video right after the JPEG's end, with no marker: looked for
		// only under a motion photo's name (it means reading the whole
		// image).
		{"PXL_20240131_140500123.MP.jpg", appended, true},
		{"MVIMG_20240131_140500.jpg", appended, true},
		{"MVIMG_20240131_140500.jpg", withGainMap, true},
		{"IMG_20240131_140500.jpg", appended, false},
		// Bytes after the JPEG that are not a video.
		{"MVIMG_20240131_140500.jpg", append(append([]byte(nil), plain...), "ftyp but not a box"...), false},
		{"IMG_20240131_140500.jpg", append(append([]byte(nil), plain...), make([]byte, 4096)...), false},
		// "ftyp" in the EXIF is not after the JPEG's end.
		{"IMG_20240131_140500.jpg", ftypInside, false},
		{"PXL_20240131_140500123.jpg", mediatest.WithXMP(t, plain, mediatest.MotionXMP), true},
		{"PXL_20240131_140500123.jpg", mediatest.WithXMP(t, plain, `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"><GCamera:MicroVideo>1</GCamera:MicroVideo></rdf:Description></rdf:RDF></x:xmpmeta>`), true},
		{"PXL_20240131_140500123.jpg", mediatest.WithXMP(t, plain, `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MotionPhoto="0"/></rdf:RDF></x:xmpmeta>`), false},
		{"20240131_140500.jpg", samsung, true},
		{"clip.mp4", mediatest.MP4(t, time.Time{}), false},
	} {
		info := readFile(t, tc.file, tc.data)
		if info.Motion != tc.want {
			t.Errorf("%s (%d bytes): motion %v, want %v", tc.file, len(tc.data), info.Motion, tc.want)
		}
		if tc.want && info.Source != wire.CaptureEXIF && tc.file != "clip.mp4" {
			t.Errorf("%s: capture from %q, want exif", tc.file, info.Source)
		}
	}
}

// TestRead_Corrupt cuts real files short and spoils their bytes: Read
// must fall through to the name, then mtime, never fail or panic.
func TestRead_Corrupt(t *testing.T) {
	// Nothing may be printed either (a parser's stray output).
	stdout := os.Stdout
	printed, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = printed
	defer func() {
		os.Stdout = stdout
		if st, err := printed.Stat(); err != nil || st.Size() > 0 {
			b, _ := os.ReadFile(printed.Name())
			t.Errorf("Read printed %q", b)
		}
	}()
	e := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6}
	files := map[string][]byte{
		"jpg":  mediatest.JPEG(t, 32, 32, e),
		"dng":  mediatest.DNG(t, e, 32, 32),
		"heic": mediatest.HEIC(t, e),
		"cr3":  mediatest.CR3(t, e),
		"mov":  mediatest.MOV(t, mediatest.MOVMeta{Created: time.Now(), CreationDate: "2024-01-31T14:05:00+0900", ContentID: "X"}),
		"mp4":  mediatest.MP4(t, time.Now()),
	}
	for ext, b := range files {
		// Cut before the date is whole (mvhd ends past byte 100).
		for _, cut := range []int{0, 1, 4, 12, 20, 40, 60, 100} {
			if cut >= len(b) {
				continue
			}
			info := readFile(t, "IMG_20230415_101112."+ext, b[:cut])
			if info.Source != wire.CaptureName {
				t.Errorf("%s cut at %d: source %q, want name", ext, cut, info.Source)
			}
			info = readFile(t, "x."+ext, b[:cut])
			if info.Source != wire.CaptureMTime || !info.Time.Equal(mtime) {
				t.Errorf("%s cut at %d: %v from %q, want mtime", ext, cut, info.Time, info.Source)
			}
		}
		// Every length, for the parsers that read box by box.
		if ext == "cr3" || ext == "heic" {
			for cut := range len(b) {
				info, err := Read(write(t, "x."+ext, b[:cut]), mtime)
				if err != nil || info.Time.IsZero() {
					t.Fatalf("%s cut at %d: %+v, %v", ext, cut, info, err)
				}
			}
		}
		// Every byte flipped in turn: any result, but no panic and a time.
		for i := range b {
			spoilt := append([]byte(nil), b...)
			spoilt[i] ^= 0xFF
			path := filepath.Join(t.TempDir(), "x."+ext)
			mediatest.Write(t, path, spoilt, mtime)
			info, err := Read(path, mtime)
			if err != nil || info.Time.IsZero() || info.Source == "" {
				t.Fatalf("%s byte %d flipped: %+v, %v", ext, i, info, err)
			}
		}
	}
}

func TestRead_Missing(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "gone.jpg"), mtime)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

func TestNameTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		want string // "" for none
	}{
		{"IMG_20240131_140500.jpg", "2024-01-31 14:05:00"},
		{"IMG_20240131_140500_1.jpg", "2024-01-31 14:05:00"},
		{"PXL_20240131_140500123.jpg", "2024-01-31 14:05:00"},
		{"PXL_20240131_140500123.RAW-02.ORIGINAL.dng", "2024-01-31 14:05:00"},
		{"VID_20240131_140500.mp4", "2024-01-31 14:05:00"},
		{"VID-20240131-WA0001.mp4", "2024-01-31 00:00:00"},
		{"IMG-20240131-WA0001.jpg", "2024-01-31 00:00:00"},
		{"Screenshot_2024-01-31-14-05-00-123_com.android.chrome.jpg", "2024-01-31 14:05:00"},
		{"Screenshot_20240131-140500.png", "2024-01-31 14:05:00"},
		{"Screenshot 2024-01-31 at 14.05.00.png", "2024-01-31 14:05:00"},
		{"2024-01-31 14.05.00.jpg", "2024-01-31 14:05:00"},
		{"2024-01-31_14-05-00.jpg", "2024-01-31 14:05:00"},
		{"photo_2024-01-31_14-05-00.jpg", "2024-01-31 14:05:00"},
		{"signal-2024-01-31-140500.jpg", "2024-01-31 14:05:00"},
		{"20240131_140500.jpg", "2024-01-31 14:05:00"},
		{"2024-01-31.jpg", "2024-01-31 00:00:00"},
		{"IMG_0001.JPG", ""},
		{"IMG_20240230_140500.jpg", ""},                    // 30 February
		{"IMG_20240131_250500.jpg", "2024-01-31 00:00:00"}, // hour 25: the date alone
		{"IMG_19891231_235959.jpg", ""},                    // before 1990
		{"IMG_20260103_000000.jpg", ""},                    // after tomorrow
		{"1706709900123.jpg", ""},                          // a Unix time in ms, not a date
		{"DSC_20241399.jpg", ""},                           // month 13
		{"holiday 2024.jpg", ""},                           // a year alone
		{"IMG_20251231_235959.jpg", "2025-12-31 23:59:59"},
	} {
		got, ok := nameTime(tc.name, now)
		if s := got.Format(time.DateTime); (ok && s != tc.want) || (!ok && tc.want != "") {
			t.Errorf("%s: got %s %v, want %q", tc.name, s, ok, tc.want)
		}
		if ok && got.Location() != time.Local {
			t.Errorf("%s: zone %v, want time.Local", tc.name, got.Location())
		}
	}
}

func FuzzRead(f *testing.F) {
	e := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6, Make: "Apple", Model: "iPhone"}
	f.Add(mediatest.JPEG(f, 8, 8, e))
	f.Add(mediatest.WithXMP(f, mediatest.JPEG(f, 8, 8, e), mediatest.MotionXMP))
	f.Add(mediatest.DNG(f, e, 8, 8))
	f.Add(mediatest.HEIC(f, e))
	f.Add(mediatest.CR3(f, e))
	f.Add(mediatest.MP4(f, time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC)))
	f.Add(mediatest.MOV(f, mediatest.MOVMeta{Created: time.Now(), CreationDate: "2024-01-31T14:05:00+0900", ContentID: "X", Day: "2024-01-31T14:05:00+0900"}))
	f.Add(mediatest.PNG(f, 8, 8))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		info, err := Read(path, mtime)
		if err != nil || info.Time.IsZero() || info.Source == "" {
			t.Fatalf("got %+v, %v", info, err)
		}
		if info.Orientation < 0 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
	})
}

// TestRead_TIFFMagic reads the RAW formats that are TIFF under another
// magic number.
func TestRead_TIFFMagic(t *testing.T) {
	dng := mediatest.DNG(t, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6}, 16, 16)
	for _, tc := range []struct{ file, magic string }{
		{"P1010001.ORF", "IIRO"}, {"P1010001.ORF", "IIRS"}, {"P1010001.RW2", "IIU\x00"}, {"DSC_0001.NEF", "II*\x00"},
	} {
		b := append([]byte(tc.magic), dng[4:]...)
		info := readFile(t, tc.file, b)
		if got := info.Time.Format(time.RFC3339); got != "2024-01-31T14:05:00+09:00" || info.Orientation != 6 {
			t.Errorf("%s %q: %s from %q, orientation %d", tc.file, tc.magic, got, info.Source, info.Orientation)
		}
	}
}

func TestRead_RAF(t *testing.T) {
	j := mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Make: "FUJIFILM"})
	raf := make([]byte, 160)
	copy(raf, "FUJIFILMCCD-RAW 0201FF383501")
	binary.BigEndian.PutUint32(raf[84:], uint32(len(raf)))
	binary.BigEndian.PutUint32(raf[88:], uint32(len(j)))
	raf = append(raf, j...)
	info := readFile(t, "DSCF0001.RAF", raf)
	if got := info.Time.Format(time.RFC3339); got != "2024-01-31T14:05:00+09:00" {
		t.Errorf("got %s from %q", got, info.Source)
	}
}
