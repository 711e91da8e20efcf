package thumb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// write puts b in a file of the test's temp dir and returns its path.
func write(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// decoded decodes a thumbnail, which must be a JPEG.
func decoded(t *testing.T, b []byte) image.Image {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\xff\xd8\xff")) {
		t.Fatalf("the thumbnail is not a JPEG: % x", b[:min(len(b), 8)])
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode the thumbnail: %v", err)
	}
	return img
}

// quadrant names the quadrant of img that is red: "top-left", "top-right",
// "bottom-left" or "bottom-right", from the colour at the middle of each.
func quadrant(t *testing.T, img image.Image) string {
	t.Helper()
	b := img.Bounds()
	var red []string
	for _, q := range []struct {
		name string
		x, y int
	}{{"top-left", 1, 1}, {"top-right", 3, 1}, {"bottom-left", 1, 3}, {"bottom-right", 3, 3}} {
		r, g, bl, _ := img.At(b.Min.X+b.Dx()*q.x/4, b.Min.Y+b.Dy()*q.y/4).RGBA()
		isRed := r>>8 > 200 && g>>8 < 60 && bl>>8 < 60
		isBlue := bl>>8 > 200 && r>>8 < 60 && g>>8 < 60
		switch {
		case isRed:
			red = append(red, q.name)
		case !isBlue:
			t.Fatalf("the %s quadrant is neither red nor blue: %d %d %d", q.name, r>>8, g>>8, bl>>8)
		}
	}
	if len(red) != 1 {
		t.Fatalf("red quadrants %v, want one", red)
	}
	return red[0]
}

// A JPEG with EXIF orientation 6 (a quarter turn clockwise) becomes a
// portrait thumbnail whose red quadrant, top left in the file, is top
// right.
func TestMake_JPEGOrientation6(t *testing.T) {
	p := write(t, "IMG_0001.jpg", mediatest.JPEG(t, 1200, 800, mediatest.EXIF{Orientation: 6}))
	b, err := Make(p, 6)
	if err != nil {
		t.Fatal(err)
	}
	img := decoded(t, b)
	if got := img.Bounds().Size(); got != image.Pt(213, 320) {
		t.Errorf("size %v, want 213×320", got)
	}
	if q := quadrant(t, img); q != "top-right" {
		t.Errorf("red quadrant %s, want top-right", q)
	}
}

// Each EXIF orientation puts the red quadrant where a viewer shows it,
// and 5–8 swap width and height.
func TestOrient(t *testing.T) {
	for _, c := range []struct {
		o    int
		want string
		w, h int
	}{
		{0, "top-left", 64, 32}, {1, "top-left", 64, 32}, {2, "top-right", 64, 32}, {3, "bottom-right", 64, 32},
		{4, "bottom-left", 64, 32}, {5, "top-left", 32, 64}, {6, "top-right", 32, 64}, {7, "bottom-right", 32, 64},
		{8, "bottom-left", 32, 64}, {9, "top-left", 64, 32},
	} {
		img := Orient(mediatest.Pattern(64, 32), c.o)
		if got := img.Bounds().Size(); got != image.Pt(c.w, c.h) {
			t.Errorf("orientation %d: size %v, want %d×%d", c.o, got, c.w, c.h)
		}
		if q := quadrant(t, img); q != c.want {
			t.Errorf("orientation %d: red quadrant %s, want %s", c.o, q, c.want)
		}
	}
}

func TestMake_Formats(t *testing.T) {
	var g bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 400, 300), color.Palette{mediatest.Red, mediatest.Blue})
	for y := range 300 {
		for x := range 400 {
			if x >= 200 || y >= 150 {
				pal.SetColorIndex(x, y, 1)
			}
		}
	}
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	webp, err := os.ReadFile("testdata/blue-purple-pink-large.normal-filter.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		b           []byte
		orientation int
		want        image.Point
		red         string // "" when the image is not the pattern
	}{
		{"photo.png", mediatest.PNG(t, 1000, 500), 0, image.Pt(320, 160), "top-left"},
		{"anim.gif", g.Bytes(), 0, image.Pt(320, 240), "top-left"},
		{"pink.webp", webp, 0, image.Pt(320, 213), ""},
		{"IMG_0002.DNG", mediatest.DNG(t, mediatest.EXIF{Orientation: 6}, 640, 480), 6, image.Pt(240, 320), "top-right"},
		{"small.jpg", mediatest.JPEG(t, 100, 50, mediatest.EXIF{}), 0, image.Pt(100, 50), "top-left"}, // never enlarged
		{"tall.jpg", mediatest.JPEG(t, 500, 1000, mediatest.EXIF{}), 1, image.Pt(160, 320), "top-left"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Make(write(t, c.name, c.b), c.orientation)
			if err != nil {
				t.Fatal(err)
			}
			img := decoded(t, b)
			if got := img.Bounds().Size(); got != c.want {
				t.Errorf("size %v, want %v", got, c.want)
			}
			if c.red != "" {
				if q := quadrant(t, img); q != c.red {
					t.Errorf("red quadrant %s, want %s", q, c.red)
				}
			}
		})
	}
}

// withPreview returns the JPEG main with preview embedded in an APP1
// segment, where cameras put their EXIF thumbnail.
func withPreview(main, preview []byte) []byte {
	seg := append([]byte("Exif\x00\x00"), preview...)
	out := append([]byte{}, main[:2]...)
	out = append(out, 0xff, 0xe1, byte((len(seg)+2)>>8), byte(len(seg)+2))
	out = append(out, seg...)
	return append(out, main[2:]...)
}

// green is a w×h JPEG all green: no part of the pattern.
func green(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []byte{0, 255, 0, 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A big JPEG's embedded preview of its shape, at least 320 pixels long,
// is used instead of the photo; one of another shape or too small is not.
func TestMake_JPEGPreview(t *testing.T) {
	main := mediatest.JPEG(t, 2400, 1600, mediatest.EXIF{})
	for _, c := range []struct {
		name    string
		preview []byte
		green   bool
	}{
		{"same shape", green(t, 480, 320), true},
		{"letterboxed", green(t, 480, 360), false},
		{"too small", green(t, 240, 160), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Make(write(t, "p.jpg", withPreview(main, c.preview)), 1)
			if err != nil {
				t.Fatal(err)
			}
			img := decoded(t, b)
			r, g, _, _ := img.At(img.Bounds().Dx()/4, img.Bounds().Dy()/4).RGBA()
			if got := g>>8 > 200 && r>>8 < 60; got != c.green {
				t.Errorf("made from the preview: %v, want %v", got, c.green)
			}
			if got := img.Bounds().Size(); got != image.Pt(320, 213) {
				t.Errorf("size %v, want 320×213", got)
			}
		})
	}
}

func TestMake_Refused(t *testing.T) {
	jpg := mediatest.JPEG(t, 64, 48, mediatest.EXIF{})
	huge := append([]byte{}, jpg...)
	sof := bytes.Index(huge, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(huge[sof+5:], 20000) // height
	binary.BigEndian.PutUint16(huge[sof+7:], 20000) // width
	for _, c := range []struct {
		name        string
		b           []byte
		unsupported bool
		want        string // in the error
	}{
		{"truncated.jpg", jpg[:len(jpg)/2], false, "unexpected EOF"},
		{"garbage.jpg", append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{0x5a}, 500)...), false, "thumbnail of"},
		{"text.jpg", []byte("not a photo at all"), true, "no thumbnail"},
		{"empty.png", nil, false, "empty"},
		{"huge.jpg", huge, false, "20000×20000 pixels (400 megapixels): thumbnails are made of images up to 100 megapixels"},
		{"clip.mp4", mediatest.MP4(t, time.Date(2024, 1, 31, 14, 5, 0, 0, time.UTC)), true, "no thumbnail"},
		{"IMG_1.dng", mediatest.DNG(t, mediatest.EXIF{}, 64, 48)[:200], true, "no embedded JPEG preview"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Make(write(t, c.name, c.b), 1)
			if err == nil {
				t.Fatalf("made %d bytes, want an error", len(b))
			}
			if errors.Is(err, ErrUnsupported) != c.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupported) = %v, want %v", err, !c.unsupported, c.unsupported)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name) {
				t.Errorf("error %q, want it to name the file and say %q", err, c.want)
			}
		})
	}
}

func TestSupports(t *testing.T) {
	for name, want := range map[string]bool{
		"a.JPG": true, "b.heic": true, "c.NEF": true, "d.webp": true, "e.mp4": false, "f.xmp": false, "g": false,
	} {
		if got := Supports(name); got != want {
			t.Errorf("Supports(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzDecode feeds decode any bytes: it returns an image or an error,
// never panics (Make's recover is not in the way here).
func FuzzDecode(f *testing.F) {
	f.Add(mediatest.JPEG(f, 64, 48, mediatest.EXIF{Orientation: 6}))
	f.Add(mediatest.PNG(f, 64, 48))
	f.Add(mediatest.DNG(f, mediatest.EXIF{Orientation: 3}, 64, 48))
	f.Add(withPreview(mediatest.JPEG(f, 900, 600, mediatest.EXIF{}), mediatest.JPEG(f, 480, 320, mediatest.EXIF{})))
	if b, err := os.ReadFile("testdata/blue-purple-pink-large.normal-filter.lossy.webp"); err == nil {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if img, release, err := decode(fh); err == nil {
			defer release()
			Orient(Scale(img), int(b[len(b)-1])%9)
		}
	})
}

// BenchmarkScale compares the resampling filters on a 2400×1800 photo as
// image/jpeg decodes it (4:2:0 YCbCr), shrunk to 320×240.
func BenchmarkScale(b *testing.B) {
	src := noisy(2400, 1800)
	for _, s := range []struct {
		name string
		s    draw.Scaler
	}{{"CatmullRom", draw.CatmullRom}, {"ApproxBiLinear", draw.ApproxBiLinear}, {"BiLinear", draw.BiLinear}} {
		b.Run(s.name, func(b *testing.B) {
			defer func(old draw.Scaler) { scaler = old }(scaler)
			scaler = s.s
			for b.Loop() {
				Scale(src)
			}
		})
	}
}

// BenchmarkDecode is what decoding the same photo costs.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, noisy(2400, 1800), &jpeg.Options{Quality: 92})
	for b.Loop() {
		jpeg.Decode(bytes.NewReader(buf.Bytes()))
	}
}

// noisy is a w×h 4:2:0 image of noise over a gradient, like a photo.
func noisy(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i%251 + i/w%5)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(100+i%13), uint8(150-i%11)
	}
	return img
}

// The box average keeps the pattern's colours and the picture's shape
// for every kind of image the decoders return.
func TestShrink(t *testing.T) {
	p := mediatest.Pattern(1001, 601)
	n := &image.NRGBA{Pix: p.Pix, Stride: p.Stride, Rect: p.Rect}
	ycc := image.NewYCbCr(p.Rect, image.YCbCrSubsampleRatio420)
	for y := range 601 {
		for x := range 1001 {
			c := p.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = yy, cb, cr
		}
	}
	for _, img := range []image.Image{p, n, ycc, ycc.SubImage(image.Rect(1, 1, 1001, 601))} {
		small := Scale(img)
		if got := small.Bounds().Size(); got != image.Pt(320, 192) {
			t.Errorf("%T: size %v, want 320×192", img, got)
		}
		if q := quadrant(t, small); q != "top-left" {
			t.Errorf("%T: red quadrant %s, want top-left", img, q)
		}
	}
}

// The gain map an Ultra HDR photo carries after its picture, grey or
// marked as such, is not taken for a preview.
func TestMake_GainMapIsNoPreview(t *testing.T) {
	main := mediatest.JPEG(t, 1200, 800, mediatest.EXIF{})
	gray := image.NewGray(image.Rect(0, 0, 600, 400))
	for i := range gray.Pix {
		gray.Pix[i] = 200
	}
	var g bytes.Buffer
	jpeg.Encode(&g, gray, nil)
	marked := withPreview(green(t, 600, 400), []byte(`<x:xmpmeta><rdf:Description hdrgm:Version="1.0"/></x:xmpmeta>`))
	for name, extra := range map[string][]byte{"grey": g.Bytes(), "marked": marked} {
		b, err := Make(write(t, "hdr.jpg", append(append([]byte{}, main...), extra...)), 1)
		if err != nil {
			t.Fatal(err)
		}
		if q := quadrant(t, decoded(t, b)); q != "top-left" {
			t.Errorf("%s gain map: red quadrant %s, want the photo's top-left", name, q)
		}
	}
}
