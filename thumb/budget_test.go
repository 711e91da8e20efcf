package thumb

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// allocated returns the bytes allocated while f ran: an upper bound of
// the memory it held at its peak.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// cpu is the CPU time the process has used so far.
func cpu(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// budgets sets DecodeBudget and TotalBudget for the test.
func budgets(t *testing.T, perDecode, total int64) {
	d, tot := DecodeBudget, TotalBudget
	DecodeBudget, TotalBudget = perDecode, total
	t.Cleanup(func() { DecodeBudget, TotalBudget = d, tot })
}

// pngBomb is a valid w×h PNG of 16-bit RGBA, all zero: rows of zeros
// compress to almost nothing (10000×10000: 777 KB for 800 MB of pixels).
func pngBomb(t *testing.T, w, h int) []byte {
	return zeroPNG(t, w, h, 16, 6, 8)
}

// zeroPNG is a valid w×h PNG, all zero, of the bit depth and colour type
// given, bpp bytes per pixel. The deflate stream of a group of rows,
// flushed, stands for every group, as it refers to nothing before it.
func zeroPNG(t *testing.T, w, h int, depth, colorType byte, bpp int) []byte {
	rows := 1
	if h%100 == 0 {
		rows = h / 100
	}
	group := make([]byte, (1+bpp*w)*rows)
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(group)
	zw.Flush()
	one := z.Bytes()[2:] // after the zlib header
	idat := append([]byte{}, z.Bytes()[:2]...)
	for range h / rows {
		idat = append(idat, one...)
	}
	idat = append(idat, 0x03, 0x00) // a final empty block
	n := uint64(1+bpp*w) * uint64(h)
	idat = binary.BigEndian.AppendUint32(idat, uint32(n%65521)<<16|1) // adler32 of n zeros
	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		c := append([]byte(kind), data...)
		out = append(out, c...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(c))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, depth, colorType, 0, 0, 0)) // not interlaced
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return out
}

// jpegBomb is a small baseline JPEG re-marked progressive (SOF2), w×h,
// no chroma subsampling, its scan made DC-only: image/jpeg would keep
// the coefficients of all w×h pixels.
func jpegBomb(t *testing.T, w, h int) []byte {
	b := mediatest.JPEG(t, 64, 48, mediatest.EXIF{})
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	b[sof+1] = 0xc2
	binary.BigEndian.PutUint16(b[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(b[sof+7:], uint16(w))
	for i := range int(b[sof+9]) {
		b[sof+11+3*i] = 0x11
	}
	sos := bytes.Index(b, []byte{0xff, 0xda})
	ns := int(b[sos+4])
	b[sos+5+2*ns+1] = 0 // spectral selection end: DC only
	return b
}

// The 16-bit 10000² PNG is refused from its header, with the size named
// (763 MiB of pixels, 98 to resample them), and without allocating it.
func TestMake_PNGBombRefused(t *testing.T) {
	p := write(t, "IMG.png", pngBomb(t, 10000, 10000))
	var err error
	n := allocated(func() { _, err = Make(p, 1) })
	want := "IMG.png: 10000×10000 pixels of 16-bit colour need 861 MiB to decode: thumbnails are made of images that fit in 256 MiB"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	if !errors.Is(err, ErrTooBig) {
		t.Errorf("errors.Is(%v, ErrTooBig) = false, want true", err)
	}
	if n > 64<<20 {
		t.Errorf("allocated %d MiB, want under 64", n>>20)
	}
}

// The same PNG at 1000² (8 MB of pixels) is a valid image: the refusal
// above is for its size, not its bytes.
func TestMake_PNGBombSmallIsAPhoto(t *testing.T) {
	b, err := Make(write(t, "small.png", pngBomb(t, 1000, 1000)), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := decoded(t, b).Bounds().Size(); got != image.Pt(320, 320) {
		t.Errorf("size %v, want 320×320", got)
	}
}

// A 2×40,000,000 grey PNG (80 MB of pixels) is refused: resampling it
// straight (a grey image is not box-averaged first) would take 1.2 GB.
func TestMake_TallGreyPNGRefused(t *testing.T) {
	p := write(t, "tall.png", zeroPNG(t, 2, 40_000_000, 8, 0, 1))
	var err error
	n := allocated(func() { _, err = Make(p, 1) })
	want := "tall.png: 2×40000000 pixels of 8-bit grey need 1297 MiB to decode: thumbnails are made of images that fit in 256 MiB"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	if n > 64<<20 {
		t.Errorf("allocated %d MiB, want under 64", n>>20)
	}
}

// A 3.9 KB progressive JPEG saying 9999² is refused from its header.
func TestMake_ProgressiveJPEGBombRefused(t *testing.T) {
	p := write(t, "bomb.jpg", jpegBomb(t, 9999, 9999))
	var err error
	n := allocated(func() { _, err = Make(p, 1) })
	want := "bomb.jpg: 9999×9999 pixels of progressive JPEG need 1431 MiB to decode: thumbnails are made of images that fit in 256 MiB"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	if n > 64<<20 {
		t.Errorf("allocated %d MiB, want under 64", n>>20)
	}
}

// A real photo followed by 20 bogus JPEG headers gets its thumbnail from
// the photo, quickly: the bogus "previews" are judged by their headers,
// never decoded.
func TestMake_BogusPreviewsCheap(t *testing.T) {
	b := mediatest.JPEG(t, 500, 500, mediatest.EXIF{})
	bomb := jpegBomb(t, 9999, 9999)
	for range 20 {
		b = append(b, bomb...)
	}
	p := write(t, "IMG_20.jpg", b)
	start := cpu(t)
	var out []byte
	var err error
	n := allocated(func() { out, err = Make(p, 1) })
	used := cpu(t) - start
	if err != nil {
		t.Fatal(err)
	}
	if got := quadrant(t, decoded(t, out)); got != "top-left" {
		t.Errorf("red quadrant %s, want top-left (the photo)", got)
	}
	if used > time.Second {
		t.Errorf("took %v of CPU, want under 1s", used)
	}
	if n > 64<<20 {
		t.Errorf("allocated %d MiB, want under 64", n>>20)
	}
}

// Four decodes at once hold no more than TotalBudget together; a decode
// bigger than TotalBudget is refused at once rather than left waiting.
func TestMake_TotalBudget(t *testing.T) {
	img := mediatest.PNG(t, 600, 600) // 8-bit RGBA: 1.4 MiB to decode, 9.4 with the overhead
	budgets(t, 8<<20, 20<<20)
	var paths []string
	for _, name := range []string{"a.png", "b.png", "c.png", "d.png"} {
		paths = append(paths, write(t, name, img))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(paths)*3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = Make(paths[i%len(paths)], 1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	g := currentGate()
	if peak := g.peak.Load(); peak <= 0 || peak > TotalBudget {
		t.Errorf("peak %d bytes held, want some and at most %d", peak, TotalBudget)
	}
	if held := g.held.Load(); held != 0 {
		t.Errorf("%d bytes still held after the decodes", held)
	}

	budgets(t, 8<<20, 1<<20)
	done := make(chan error, 1)
	go func() { _, err := Make(paths[0], 1); done <- err }()
	select {
	case err := <-done:
		want := "600×600 pixels of 8-bit colour need 2 MiB to decode: thumbnails are made of images that fit in 1 MiB"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one saying %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a decode bigger than TotalBudget is still waiting after 10s")
	}
}

// A 24-megapixel baseline JPEG from a camera, without a preview, still
// gets its thumbnail, within the estimate made of its header.
func TestMake_24MegapixelJPEG(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a 24-megapixel JPEG")
	}
	b := mediatest.JPEG(t, 6000, 4000, mediatest.EXIF{})
	p := write(t, "DSC_0001.jpg", b)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	need, _ := estimateJPEG(bytes.NewReader(b), cfg)
	runtime.GC()
	var out []byte
	n := allocated(func() { out, err = Make(p, 1) })
	if err != nil {
		t.Fatal(err)
	}
	if got := quadrant(t, decoded(t, out)); got != "top-left" {
		t.Errorf("red quadrant %s, want top-left", got)
	}
	t.Logf("24 MP baseline 4:2:0: estimate %d MiB, allocated by Make %d MiB", need>>20, n>>20)
	if n > uint64(need+overhead) {
		t.Errorf("Make allocated %d MiB, more than the estimate of %d MiB and the overhead", n>>20, need>>20)
	}
}

// The estimate of a progressive JPEG covers what image/jpeg allocates for
// it; here one made from a baseline JPEG whose scans fail early, after
// the allocation.
func TestEstimateJPEG_Progressive(t *testing.T) {
	b := jpegBomb(t, 2000, 1500)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	need, what := estimateJPEG(bytes.NewReader(b), cfg)
	n := allocated(func() { jpeg.Decode(bytes.NewReader(b)) })
	t.Logf("2000×1500 progressive 4:4:4: estimate %d MiB, allocated %d MiB", need>>20, n>>20)
	if what != "progressive JPEG" || uint64(need+overhead) < n || uint64(need) > n+n/4 {
		t.Errorf("estimate %d bytes of %s, want %s of the %d allocated (within the overhead, or 25%% more)", need, what, "progressive JPEG", n)
	}
}

// A decoder that fails after its bytes were reserved gives its error
// back, not a panic, and gives the bytes back.
func TestHeld_DecodeError(t *testing.T) {
	want := errors.New("unexpected EOF")
	img, release, err := held(1<<20, func() (image.Image, error) { return nil, want })
	if img != nil || release != nil || err != want {
		t.Fatalf("held: %v, %v, %v; want nil, nil, %v", img, release != nil, err, want)
	}
	if h := currentGate().held.Load(); h != 0 {
		t.Errorf("%d bytes still reserved after a failed decode", h)
	}
}
