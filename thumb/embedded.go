package thumb

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"os"
	"slices"
)

// scanLimit is how far into a file embedded JPEG previews are looked for:
// cameras put them near the start (RAW) or right after the main image
// (MPF previews of camera JPEGs).
const scanLimit = 32 << 20

// maxMarkers bounds the start-of-image markers looked at: a DNG whose
// raw data is in lossless-JPEG tiles has one per tile, which image/jpeg
// refuses at once; maxCandidates bounds those whose header it accepts.
const (
	maxMarkers    = 512
	maxCandidates = 32
)

// maxDecodes is how many of the candidates are decoded at most: the one
// chosen and one fallback.
const maxDecodes = 2

// preview is an embedded JPEG: where it starts, its size, and the memory
// its decode takes.
type preview struct {
	off  int64
	cfg  image.Config
	need int64
}

// embedded decodes the JPEG preview embedded in f at or after byte from:
// the smallest whose longest side is at least MaxSide (cheapest to decode;
// NEF and ARW files also embed a full-size one), else the largest. With
// shape set (width / height), only previews of that shape at least MaxSide
// long count: a letterboxed EXIF thumbnail of a wide photo does not. With
// below set, only previews of fewer pixels count. Previews are chosen by
// their headers alone; one too big for DecodeBudget does not count. It
// reports false when there is none; release gives back the memory held.
func embedded(f *os.File, from int64, shape float64, below int) (img image.Image, release func(), ok bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, false, err
	}
	found, err := previews(f, from, fi.Size())
	if err != nil {
		return nil, nil, false, err
	}
	found = slices.DeleteFunc(found, func(p preview) bool {
		switch {
		case p.need > limit(), below > 0 && pixels(p.cfg) >= below:
			return true
		case shape > 0:
			return longest(p.cfg) < MaxSide || math.Abs(aspect(p.cfg)-shape) > shape*0.02
		}
		return false
	})
	for _, p := range rank(found)[:min(len(found), maxDecodes)] {
		r := io.NewSectionReader(f, p.off, fi.Size()-p.off)
		img, release, err := held(p.need, func() (image.Image, error) { return jpeg.Decode(r) })
		if err == nil {
			return img, release, true, nil
		}
	}
	return nil, nil, false, nil
}

// previews lists the JPEGs that start in the first scanLimit bytes of f at
// or after from and whose header jpeg.DecodeConfig accepts, of a size
// checkSize accepts.
func previews(f *os.File, from, size int64) ([]preview, error) {
	var out []preview
	tried := 0
	soi := []byte("\xff\xd8\xff")
	buf := make([]byte, 1<<20)
	aux := make([]byte, 64<<10)
	end := min(size, scanLimit)
	more := func() bool { return tried < maxMarkers && len(out) < maxCandidates }
	for pos := from; pos < end && more(); {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		if n == 0 {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		for i := 0; more(); i++ {
			k := bytes.Index(buf[i:n], soi)
			if k < 0 {
				break
			}
			i += k
			tried++
			off := pos + int64(i)
			r := io.NewSectionReader(f, off, size-off)
			cfg, err := jpeg.DecodeConfig(r)
			if err == nil && checkSize(cfg) == nil && cfg.ColorModel != color.GrayModel && !auxiliary(f, off, aux) {
				need, _ := estimateJPEG(r, cfg)
				out = append(out, preview{off, cfg, need})
			}
		}
		if int64(n) < end-pos && n > len(soi) {
			pos += int64(n) - int64(len(soi)-1) // a marker across two reads is found in the next
		} else {
			break
		}
	}
	return out, nil
}

// auxMarks are what the headers of JPEGs that are not pictures of the
// photo say: the gain map of an Ultra HDR photo (Android, "hdrgm"; Adobe's
// "GainMap"), and Apple's auxiliary images (HDR gain map, portrait matte,
// depth), all stored after the photo the way previews are.
var auxMarks = [][]byte{[]byte("hdrgm"), []byte("GainMap"), []byte("apple:photo:20")}

// auxiliary reports whether the JPEG at off in f says, in its header
// segments (up to its start of scan, within len(buf)), that it is not a
// picture of the photo.
func auxiliary(f *os.File, off int64, buf []byte) bool {
	n, _ := f.ReadAt(buf, off)
	head := buf[:n]
	if sos := bytes.Index(head, []byte{0xff, 0xda}); sos >= 0 {
		head = head[:sos]
	}
	for _, m := range auxMarks {
		if bytes.Contains(head, m) {
			return true
		}
	}
	return false
}

// rank orders previews by preference: those at least MaxSide long,
// smallest first, then the smaller ones, largest first.
func rank(ps []preview) []preview {
	slices.SortStableFunc(ps, func(a, b preview) int {
		ab, bb := longest(a.cfg) >= MaxSide, longest(b.cfg) >= MaxSide
		switch {
		case ab != bb && ab:
			return -1
		case ab != bb:
			return 1
		case ab:
			return pixels(a.cfg) - pixels(b.cfg)
		}
		return pixels(b.cfg) - pixels(a.cfg)
	})
	return ps
}

func longest(c image.Config) int { return max(c.Width, c.Height) }
func pixels(c image.Config) int  { return c.Width * c.Height }
func aspect(c image.Config) float64 {
	return float64(c.Width) / float64(c.Height)
}
