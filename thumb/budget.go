package thumb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DecodeBudget is the most memory, in bytes, one decode may take, as
// estimated from the image's header before decoding: a bigger image gets
// no thumbnail. 256 MiB takes a 24-megapixel progressive JPEG (172 MiB)
// or a 24-megapixel 16-bit PNG (222 MiB, resampling included); a
// baseline one takes 34 MiB. Set it before the first Make.
var DecodeBudget int64 = 256 << 20

// TotalBudget is the most memory, in bytes, the decodes running at once
// in this process may take together: a decode waits until its estimate
// fits. Set it before the first Make.
var TotalBudget int64 = 384 << 20

// ErrTooBig says the image has more pixels than MaxPixels, or would take
// more memory to decode than DecodeBudget (or TotalBudget) allows.
var ErrTooBig = errors.New("image too big for a thumbnail")

// tooBig is an error that reads as its message and matches ErrTooBig.
type tooBig string

func (e tooBig) Error() string { return string(e) }
func (e tooBig) Unwrap() error { return ErrTooBig }

// limit is the largest estimate a decode may have.
func limit() int64 { return min(DecodeBudget, TotalBudget) }

// checkBudget refuses an image whose decode would take more than limit.
func checkBudget(cfg image.Config, need int64, what string) error {
	if lim := limit(); need > lim {
		return tooBig(fmt.Sprintf("%d×%d pixels of %s need %d MiB to decode: thumbnails are made of images that fit in %d MiB",
			cfg.Width, cfg.Height, what, mib(need), mib(lim)))
	}
	return nil
}

func mib(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// gate bounds the bytes held by decodes running at once.
type gate struct {
	sem        *semaphore.Weighted
	size       int64
	held, peak atomic.Int64 // bytes, for tests
}

var (
	gateMu sync.Mutex
	cur    *gate
)

// currentGate returns the gate of TotalBudget bytes.
func currentGate() *gate {
	gateMu.Lock()
	defer gateMu.Unlock()
	if cur == nil || cur.size != TotalBudget {
		cur = &gate{sem: semaphore.NewWeighted(TotalBudget), size: TotalBudget}
	}
	return cur
}

// overhead is the memory a thumbnail takes besides its decoded image
// and scaling: the buffers that look for previews, the box-averaged
// image, the thumbnail and its encoder (measured: 3.8 MiB for a
// 24-megapixel JPEG, 3 for a PNG; the resampler of a box-averaged image
// takes up to 6.5 MiB more, see scaling).
const overhead = 8 << 20

// scaling is the memory Scale takes to resample an image of cfg that
// shrink cannot box-average first (grey, palette, 16-bit, CMYK): the
// resampler keeps 32 bytes for each pixel of the thumbnail's width by the
// image's height. A 1×100,000,000 grey PNG would take 3 GB.
func scaling(cfg image.Config) int64 {
	switch cfg.ColorModel {
	case color.YCbCrModel, color.RGBAModel, color.NRGBAModel:
		return 0 // within overhead
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch {
	case max(w, h) <= MaxSide:
		return 0
	case w >= h:
		w = MaxSide
	default:
		w = max(1, (w*MaxSide+h/2)/h)
	}
	return 32 * w * h
}

// reserve waits until need bytes and the overhead fit in the gate, and
// returns what gives them back; need was checked against limit, so it
// never waits forever.
func reserve(need int64) (release func()) {
	g := currentGate()
	need = min(need+overhead, g.size)
	_ = g.sem.Acquire(context.Background(), need) // never fails without a deadline
	if h := g.held.Add(need); h > g.peak.Load() {
		g.peak.Store(h) // racy max, good enough for a test's bound
	}
	return func() {
		g.held.Add(-need)
		g.sem.Release(need)
	}
}

// estimate is the bytes Go's decoders allocate for an image of cfg (PNG,
// GIF, WebP) and Scale takes for it, with what describes it for an
// error; interlaced PNGs also hold one pass while merging it (at most
// half the image).
func estimate(cfg image.Config, interlaced bool) (need int64, what string) {
	px := int64(cfg.Width) * int64(cfg.Height)
	var bpp float64
	switch cfg.ColorModel {
	case color.GrayModel:
		bpp, what = 1, "8-bit grey"
	case color.Gray16Model:
		bpp, what = 2, "16-bit grey"
	case color.RGBA64Model, color.NRGBA64Model:
		bpp, what = 8, "16-bit colour"
	case color.YCbCrModel:
		bpp, what = 1.5, "lossy colour" // WebP: 4:2:0
	case color.NYCbCrAModel:
		bpp, what = 2.5, "lossy colour with alpha"
	case color.RGBAModel:
		bpp, what = 4, "8-bit colour"
	case color.NRGBAModel:
		bpp, what = 4, "8-bit colour"
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp, what = 1, "palette colour"
		} else {
			bpp, what = 8, "colour"
		}
	}
	if interlaced {
		bpp *= 1.5
	}
	return int64(float64(px)*bpp) + scaling(cfg), what
}

// pngInterlaced reports whether the PNG in r says its rows are
// interlaced (Adam7): the IHDR chunk is first, its last byte says.
func pngInterlaced(r io.ReaderAt) bool {
	b := make([]byte, 1)
	_, err := r.ReadAt(b, 28)
	return err == nil && b[0] != 0
}

// jpegLayout is what a JPEG's frame header (SOF) says about decoding it.
type jpegLayout struct {
	progressive bool
	hv          [][2]int // sampling factors of each component
}

// readLayout reads the frame header of the JPEG at the start of r,
// walking its segments (at most 1 MiB of them).
func readLayout(r io.ReaderAt) (jpegLayout, error) {
	var b [10]byte
	if _, err := r.ReadAt(b[:2], 0); err != nil || b[0] != 0xff || b[1] != 0xd8 {
		return jpegLayout{}, errors.New("no start of image")
	}
	for off := int64(2); off < 1<<20; {
		if _, err := r.ReadAt(b[:4], off); err != nil {
			return jpegLayout{}, err
		}
		if b[0] != 0xff {
			return jpegLayout{}, errors.New("no marker")
		}
		m := b[1]
		switch {
		case m == 0xff: // fill byte
			off++
			continue
		case m == 0x01 || (m >= 0xd0 && m <= 0xd8):
			off += 2 // no length
			continue
		case m == 0xda || m == 0xd9:
			return jpegLayout{}, errors.New("no frame header before the scan")
		case m == 0xc0 || m == 0xc1 || m == 0xc2:
			return sofLayout(r, off+4, m == 0xc2)
		}
		off += 2 + int64(binary.BigEndian.Uint16(b[2:4]))
	}
	return jpegLayout{}, errors.New("no frame header in the first MiB")
}

// sofLayout reads the body of a frame header at off.
func sofLayout(r io.ReaderAt, off int64, progressive bool) (jpegLayout, error) {
	var h [6]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return jpegLayout{}, err
	}
	l := jpegLayout{progressive: progressive}
	comps := make([]byte, 3*int(h[5]))
	if _, err := r.ReadAt(comps, off+6); err != nil {
		return jpegLayout{}, err
	}
	for i := 0; i < len(comps); i += 3 {
		l.hv = append(l.hv, [2]int{max(1, int(comps[i+1]>>4)), max(1, int(comps[i+1]&15))})
	}
	return l, nil
}

// estimateJPEG is the bytes image/jpeg allocates for the JPEG at the
// start of r, whose header gave cfg: one byte per sample of each
// component (padded to whole blocks) for the image, four more per pixel
// when it is turned into CMYK or RGB, and for a progressive JPEG the
// coefficients of every block of the image (64 int32s) until the last
// scan; and what Scale takes for it. A header it cannot read counts as
// the worst: progressive, no subsampling.
func estimateJPEG(r io.ReaderAt, cfg image.Config) (need int64, what string) {
	l, err := readLayout(r)
	if err != nil || len(l.hv) == 0 {
		l = jpegLayout{progressive: true, hv: [][2]int{{1, 1}, {1, 1}, {1, 1}, {1, 1}}}
	}
	h0, v0 := int64(l.hv[0][0]), int64(l.hv[0][1])
	mxx := (int64(cfg.Width) + 8*h0 - 1) / (8 * h0)
	myy := (int64(cfg.Height) + 8*v0 - 1) / (8 * v0)
	var blocks int64
	for _, hv := range l.hv {
		blocks += mxx * myy * int64(hv[0]*hv[1])
	}
	need, what = 64*blocks, "JPEG"
	if len(l.hv) == 4 || (len(l.hv) == 3 && cfg.ColorModel != color.YCbCrModel) {
		need += 4 * int64(cfg.Width) * int64(cfg.Height)
	}
	if l.progressive {
		need, what = need+256*blocks, "progressive JPEG"
	}
	return need + scaling(cfg), what
}
