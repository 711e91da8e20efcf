package mediatest

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"github.com/abema/go-mp4"
	"github.com/evanoberholster/imagemeta"
)

// checkPattern fails unless img shows the red top-left quadrant on blue.
func checkPattern(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	for _, p := range []struct {
		x, y  int
		red   bool
		where string
	}{
		{b.Dx() / 8, b.Dy() / 8, true, "top left"},
		{b.Dx() * 7 / 8, b.Dy() / 8, false, "top right"},
		{b.Dx() / 8, b.Dy() * 7 / 8, false, "bottom left"},
		{b.Dx() * 7 / 8, b.Dy() * 7 / 8, false, "bottom right"},
	} {
		r, _, bl, _ := img.At(b.Min.X+p.x, b.Min.Y+p.y).RGBA()
		if got := r > bl; got != p.red {
			t.Errorf("%s: red %v, want %v (r=%d b=%d)", p.where, got, p.red, r>>8, bl>>8)
		}
	}
}

func TestJPEG(t *testing.T) {
	e := EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6, Make: "Apple", Model: "iPhone 15"}
	b := JPEG(t, 64, 48, e)
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
		t.Fatalf("got %v, want 64×48", img.Bounds())
	}
	checkPattern(t, img)
	x, err := imagemeta.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 1, 31, 14, 5, 0, 0, time.FixedZone("", 9*3600))
	if got := x.DateTimeOriginal(); !got.Equal(want) || got.Format(time.RFC3339) != "2024-01-31T14:05:00+09:00" {
		t.Errorf("DateTimeOriginal %v, want %v", got, want)
	}
	if x.Orientation != 6 || x.Make != "Apple" || x.Model != "iPhone 15" {
		t.Errorf("got orientation %d make %q model %q", x.Orientation, x.Make, x.Model)
	}
	if plain := JPEG(t, 8, 8, EXIF{}); bytes.Contains(plain, []byte("Exif\x00")) {
		t.Error("JPEG with zero EXIF has an EXIF segment")
	}
	withXMP := WithXMP(t, b, MotionXMP)
	if _, err := jpeg.Decode(bytes.NewReader(withXMP)); err != nil {
		t.Fatalf("JPEG with XMP: %v", err)
	}
}

func TestPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(PNG(t, 30, 20)))
	if err != nil {
		t.Fatal(err)
	}
	checkPattern(t, img)
}

func TestDNG(t *testing.T) {
	b := DNG(t, EXIF{DateTimeOriginal: "2023:07:01 08:00:00", Orientation: 8, Make: "Google", Model: "Pixel 8"}, 160, 120)
	x, err := imagemeta.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := x.DateTimeOriginal(); got.Format(time.DateTime) != "2023-07-01 08:00:00" {
		t.Errorf("DateTimeOriginal %v", got)
	}
	if x.Orientation != 8 || x.ImageType.String() != "image/x-adobe-dng" {
		t.Errorf("orientation %d, type %v", x.Orientation, x.ImageType)
	}
	off, n := int(x.StripOffsets), int(x.StripByteCounts)
	if off+n > len(b) || n == 0 {
		t.Fatalf("preview strip %d+%d outside %d bytes", off, n, len(b))
	}
	img, err := jpeg.Decode(bytes.NewReader(b[off : off+n]))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if img.Bounds().Dx() != 160 || img.Bounds().Dy() != 120 {
		t.Errorf("preview %v, want 160×120", img.Bounds())
	}
	checkPattern(t, img)
}

// boxes lists the paths of the boxes go-mp4 finds, with the mvhd creation
// time and the QuickTime metadata strings.
func boxes(t *testing.T, b []byte) (paths map[string]bool, created uint64, strs []string) {
	t.Helper()
	paths = map[string]bool{}
	_, err := mp4.ReadBoxStructure(bytes.NewReader(b), func(h *mp4.ReadHandle) (any, error) {
		var p string
		for _, bt := range h.Path {
			p += "/" + bt.String()
		}
		paths[p] = true
		if !h.BoxInfo.IsSupportedType() {
			return nil, nil
		}
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		switch v := box.(type) {
		case *mp4.Mvhd:
			created = v.GetCreationTime()
		case *mp4.Item:
			strs = append(strs, string(v.Data.Data))
		}
		return h.Expand()
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths, created, strs
}

func TestMP4(t *testing.T) {
	when := time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC)
	paths, created, _ := boxes(t, MP4(t, when))
	for _, p := range []string{"/ftyp", "/moov/mvhd", "/moov/trak/tkhd", "/moov/trak/mdia/minf/stbl/stsd"} {
		if !paths[p] {
			t.Errorf("no %s in %v", p, paths)
		}
	}
	if want := uint64(when.Unix() + 2082844800); created != want {
		t.Errorf("mvhd creation %d, want %d", created, want)
	}
}

func TestMOV(t *testing.T) {
	m := MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0900", ContentID: "A1B2C3D4-0000-4000-8000-000000000001", Day: "2024-01-31"}
	paths, _, strs := boxes(t, MOV(t, m))
	for _, p := range []string{"/moov/meta/keys", "/moov/meta/ilst", "/moov/udta"} {
		if !paths[p] {
			t.Errorf("no %s in %v", p, paths)
		}
	}
	if len(strs) != 2 || strs[0] != m.CreationDate || strs[1] != m.ContentID {
		t.Errorf("QuickTime strings %q in %v", strs, paths)
	}
}

func TestHEICAndCR3(t *testing.T) {
	e := EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6, Make: "Canon"}
	for name, decode := range map[string]func() (time.Time, int, error){
		"heic": func() (time.Time, int, error) {
			x, err := imagemeta.Decode(bytes.NewReader(HEIC(t, e)))
			return x.DateTimeOriginal(), int(x.Orientation), err
		},
		"cr3": func() (time.Time, int, error) {
			x, err := imagemeta.DecodeCR3(bytes.NewReader(CR3(t, e)))
			return x.DateTimeOriginal(), int(x.Orientation), err
		},
	} {
		got, o, err := decode()
		if err != nil || got.Format(time.RFC3339) != "2024-01-31T14:05:00+09:00" || o != 6 {
			t.Errorf("%s: %v, orientation %d, %v", name, got, o, err)
		}
	}
}
