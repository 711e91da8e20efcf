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

// maxCandidates bounds the start-of-image markers tried: a DNG whose raw
// data is in lossless-JPEG tiles has one per tile.
const maxCandidates = 512

// preview is an embedded JPEG: where it starts, and its size.
type preview struct {
	off int64
	cfg image.Config
}

// embedded decodes the JPEG preview embedded in f at or after byte from:
// the smallest whose longest side is at least MaxSide (cheapest to decode;
// NEF and ARW files also embed a full-size one), else the largest. With
// shape set (width / height), only previews of that shape at least MaxSide
// long count: a letterboxed EXIF thumbnail of a wide photo does not. It
// reports false when there is none.
func embedded(f *os.File, from int64, shape float64) (image.Image, bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	found, err := previews(f, from, fi.Size())
	if err != nil {
		return nil, false, err
	}
	if shape > 0 {
		found = slices.DeleteFunc(found, func(p preview) bool {
			return longest(p.cfg) < MaxSide || math.Abs(aspect(p.cfg)-shape) > shape*0.02
		})
	}
	for _, p := range rank(found) {
		img, err := jpeg.Decode(io.NewSectionReader(f, p.off, fi.Size()-p.off))
		if err == nil {
			return img, true, nil
		}
	}
	return nil, false, nil
}

// previews lists the JPEGs that start in the first scanLimit bytes of f at
// or after from and whose header jpeg.DecodeConfig accepts, of a size
// checkSize accepts.
func previews(f *os.File, from, size int64) ([]preview, error) {
	var out []preview
	tried := 0
	soi := []byte("\xff\xd8\xff")
	buf := make([]byte, 1<<20)
	end := min(size, scanLimit)
	for pos := from; pos < end && tried < maxCandidates; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		if n == 0 {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		for i := 0; tried < maxCandidates; i++ {
			k := bytes.Index(buf[i:n], soi)
			if k < 0 {
				break
			}
			i += k
			tried++
			off := pos + int64(i)
			cfg, err := jpeg.DecodeConfig(io.NewSectionReader(f, off, size-off))
			if err == nil && checkSize(cfg) == nil && cfg.ColorModel != color.GrayModel && !auxiliary(f, off) {
				out = append(out, preview{off, cfg})
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
// segments (up to its start of scan, within 64 KiB), that it is not a
// picture of the photo.
func auxiliary(f *os.File, off int64) bool {
	buf := make([]byte, 64<<10)
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
