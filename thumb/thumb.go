// Package thumb makes the small JPEG that stands for a photo in listings
// and galleries: longest side MaxSide pixels, EXIF orientation applied.
//
// JPEG, PNG, GIF and WebP are decoded with the Go decoders. RAW files
// (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2) and HEIC/HEIF/AVIF give their
// largest embedded JPEG preview: no HEVC or AV1 decoder is used (the
// ones for Go embed C code or come under licences the project cannot
// take). Videos get none.
package thumb

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/cloudkeep/cloudkeep/media"
)

// MaxSide is the longest side of a thumbnail, in pixels.
const MaxSide = 320

// MaxPixels is the largest image a thumbnail is made of, whatever memory
// it takes (see DecodeBudget): scaling 100 megapixels takes seconds.
const MaxPixels = 100_000_000

// Quality is the JPEG quality of a thumbnail.
const Quality = 80

// ErrUnsupported says no thumbnail can be made from this kind of file.
var ErrUnsupported = errors.New("no thumbnail for this kind of file")

// Supports reports whether a file named name is a kind of photo Make may
// make a thumbnail of (media's photos, by extension). The content decides
// in the end.
func Supports(name string) bool {
	k, ok := media.KindOf(name)
	return ok && k == media.Photo
}

// Make returns the thumbnail of the photo at path, a JPEG, with the EXIF
// orientation (1–8; 0 when unknown) applied. It returns an error wrapping
// ErrUnsupported for a file it cannot make one of by its kind (a video, a
// HEIC without an embedded JPEG), and another error for a file it cannot
// read or decode; it never panics on corrupt input.
func Make(path string, orientation int) (out []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	defer f.Close()
	defer func() {
		// The decoders are meant not to panic on any input; a panic here
		// would stop the agent, so one is turned into this file's error.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("thumbnail of %s: decoder failed: %v", path, r)
		}
	}()
	img, release, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	small := func() image.Image {
		defer release() // the decoded image is garbage once scaled
		return Scale(img)
	}()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Orient(small, orientation), &jpeg.Options{Quality: Quality}); err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	return b.Bytes(), nil
}

// format is what a file's first bytes say it is.
type format int

const (
	unknown format = iota
	fmtJPEG        // decoded, or its embedded preview
	fmtPNG
	fmtGIF
	fmtWebP
	fmtEmbedded // RAW and HEIF: only the embedded JPEG preview
)

// sniff names the format of a file that begins with head (at least 16
// bytes when the file has them).
func sniff(head []byte) format {
	has := func(off int, s string) bool { return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s }
	switch {
	case has(0, "\xff\xd8\xff"):
		return fmtJPEG
	case has(0, "\x89PNG\r\n\x1a\n"):
		return fmtPNG
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return fmtGIF
	case has(0, "RIFF") && has(8, "WEBP"):
		return fmtWebP
	case has(0, "II*\x00"), has(0, "MM\x00*"), // TIFF: DNG, CR2, NEF, ARW
		has(0, "IIRO"), has(0, "IIRS"), has(0, "MMOR"), // ORF
		has(0, "IIU\x00"),         // RW2
		has(0, "FUJIFILMCCD-RAW"): // RAF
		return fmtEmbedded
	case has(4, "ftyp"):
		switch string(head[8:12]) {
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1", "avif", "avis", "crx ":
			return fmtEmbedded // HEIF, AVIF, CR3
		}
	}
	return unknown
}

// decode reads the image of f by its kind. The memory it took stays
// reserved (see TotalBudget) until release is called.
func decode(f *os.File) (img image.Image, release func(), err error) {
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && n == 0 {
		return nil, nil, fmt.Errorf("empty or unreadable: %w", err)
	}
	kind := sniff(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	switch kind {
	case fmtJPEG:
		return decodeJPEG(f)
	case fmtPNG:
		return decodeWith(f, png.DecodeConfig, png.Decode, pngInterlaced(f))
	case fmtGIF:
		return decodeWith(f, gif.DecodeConfig, gif.Decode, false)
	case fmtWebP:
		return decodeWith(f, webp.DecodeConfig, webp.Decode, false)
	case fmtEmbedded:
		img, release, ok, err := embedded(f, 0, 0, 0)
		switch {
		case err != nil:
			return nil, nil, err
		case !ok:
			return nil, nil, fmt.Errorf("no embedded JPEG preview: %w", ErrUnsupported)
		}
		return img, release, nil
	}
	return nil, nil, ErrUnsupported
}

// decodeWith checks the size and memory the header gives, then decodes
// once that memory is free.
func decodeWith(f *os.File, config func(io.Reader) (image.Config, error), dec func(io.Reader) (image.Image, error), interlaced bool) (image.Image, func(), error) {
	cfg, err := config(f)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSize(cfg); err != nil {
		return nil, nil, err
	}
	need, what := estimate(cfg, interlaced)
	if err := checkBudget(cfg, need, what); err != nil {
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	return held(need, func() (image.Image, error) { return dec(f) })
}

// held runs dec with need bytes reserved, and keeps them reserved for
// the image it returns; on an error or a panic they are given back.
func held(need int64, dec func() (image.Image, error)) (img image.Image, release func(), err error) {
	give := reserve(need)
	defer func() {
		if img == nil {
			give()
		}
	}()
	img, err = dec()
	if err != nil {
		return nil, nil, err
	}
	return img, give, nil
}

// decodeJPEG decodes a JPEG, or rather its embedded preview (an EXIF
// thumbnail, an MPF preview) when one of the same shape is big enough:
// decoding a 12-megapixel photo costs a hundred times more. A JPEG too big
// to decode may still have a preview that is not.
func decodeJPEG(f *os.File) (image.Image, func(), error) {
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSize(cfg); err != nil {
		return nil, nil, err
	}
	if img, release, ok, err := embedded(f, 1, aspect(cfg), pixels(cfg)); err == nil && ok {
		return img, release, nil
	}
	need, what := estimateJPEG(f, cfg)
	if err := checkBudget(cfg, need, what); err != nil {
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	return held(need, func() (image.Image, error) { return jpeg.Decode(f) })
}

// checkSize refuses images too big to decode safely.
func checkSize(cfg image.Config) error {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("the image has no pixels (%d×%d)", cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return tooBig(fmt.Sprintf("the image is %d×%d pixels (%.0f megapixels): thumbnails are made of images up to %d megapixels",
			cfg.Width, cfg.Height, float64(px)/1e6, MaxPixels/1_000_000))
	}
	return nil
}

// Scale returns img shrunk so that its longest side is MaxSide pixels, or
// img as it is when it is no bigger.
func Scale(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if max(w, h) <= MaxSide {
		return img
	}
	if w >= h {
		w, h = MaxSide, max(1, (h*MaxSide+w/2)/w)
	} else {
		w, h = max(1, (w*MaxSide+h/2)/h), MaxSide
	}
	if k := max(b.Dx(), b.Dy()) / MaxSide; k >= 2 {
		img = shrink(img, k) // still at least as big as the thumbnail
		b = img.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	scaler.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// scaler is the resampling filter from the box-averaged image (at most
// twice the thumbnail's size) to the thumbnail. CatmullRom keeps edges
// sharper than ApproxBiLinear for a few milliseconds more (a 2400×1800
// photo: ~15 ms against ~11, the box average included; decoding it costs
// ~65). Straight from the photo CatmullRom would cost ~120 ms, and
// ApproxBiLinear ~2 ms but with aliasing (moiré, jagged edges), as it
// reads 4 of every ~56 pixels: see BenchmarkScale.
var scaler draw.Scaler = draw.CatmullRom
