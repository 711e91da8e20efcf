package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/evanoberholster/imagemeta"
	"github.com/evanoberholster/imagemeta/exif2"
	"github.com/evanoberholster/imagemeta/exif2/ifds"
	"github.com/evanoberholster/imagemeta/exif2/ifds/exififd"
	"github.com/evanoberholster/imagemeta/imagetype"
	"github.com/evanoberholster/imagemeta/isobmff"
	"github.com/evanoberholster/imagemeta/tiff"
	"github.com/rs/zerolog"
)

// maxEXIFScan bounds how far into a file the EXIF parser may read: EXIF
// sits in a file's first few hundred KiB, and a file without it must not
// be read to its end.
const maxEXIFScan = 4 << 20

// The parser logs to standard output by default: keep it quiet.
func init() {
	imagemeta.SetLogger(io.Discard, zerolog.Disabled)
}

// readEXIF reads the capture time and orientation of a still of the given
// kind from its EXIF data. A zero Time means the file had none usable.
func readEXIF(f *counter, size int64, kind int) Info {
	var x exifTags
	ok := safely(func() bool {
		// An error after some tags were read (a broken later IFD) still
		// leaves those tags.
		x, _ = decodeEXIF(f, size, kind)
		return true
	})
	if !ok {
		return Info{}
	}
	info := Info{Orientation: x.orientation}
	if info.Orientation < 1 || info.Orientation > 8 {
		info.Orientation = 0
	}
	if t, ok := x.time(); ok {
		info.Time, info.Source = t, wire.CaptureEXIF
	}
	return info
}

// decodeEXIF finds the EXIF data of a still and decodes it.
func decodeEXIF(f *counter, size int64, kind int) (exifTags, error) {
	limit := min(size, maxEXIFScan)
	switch kind {
	case kindJPEG:
		return decodeJPEG(f, 0, size)
	case kindTIFF:
		return decodeTIFF(io.NewSectionReader(tiffMagic{f}, 0, limit))
	case kindRAF:
		return decodeRAF(f, size)
	case kindCR3:
		if !wholeBoxes(f, size, 3) {
			return exifTags{}, errNoEXIF
		}
		return decodeCR3(io.NewSectionReader(f, 0, size))
	case kindHEIF:
		off, n, err := heifEXIF(f, size)
		if err != nil {
			return exifTags{}, err
		}
		return decodeTIFF(io.NewSectionReader(f, off, n))
	}
	return exifTags{}, errNoEXIF
}

// exifTags are the EXIF values capture uses, the dates and offsets as
// written: the parser's own dates are built with time.Date, which turns a
// 30 February into 1 March and takes any offset, so they cannot be told
// from real ones.
type exifTags struct {
	orientation    int
	original       string // DateTimeOriginal, "2024:01:31 14:05:00"
	subsec         string // SubSecTimeOriginal, "250"
	offsetOriginal string // OffsetTimeOriginal, "+09:00"
	offset         string // OffsetTime (of DateTime), "+09:00"
}

// parse is the parser's tag callback: it keeps the tags of exifTags and
// skips the rest.
func (x *exifTags) parse(p exif2.TagParser, t exif2.Tag) error {
	switch {
	case t.Ifd == ifds.IFD0 && t.ID == ifds.Orientation:
		x.orientation = int(p.ParseUint16(t))
	case t.Ifd != ifds.ExifIFD:
	case t.ID == exififd.DateTimeOriginal:
		x.original = p.ParseString(t)
	case t.ID == exififd.SubSecTimeOriginal:
		x.subsec = p.ParseString(t)
	case t.ID == exififd.OffsetTimeOriginal:
		x.offsetOriginal = p.ParseString(t)
	case t.ID == exififd.OffsetTime:
		x.offset = p.ParseString(t)
	}
	return nil
}

// decodeTIFF decodes the EXIF tags of a TIFF stream (a TIFF or RAW file,
// a JPEG's APP1 segment, a HEIF Exif item).
func decodeTIFF(r io.Reader) (exifTags, error) {
	br := bufio.NewReaderSize(r, 4<<10)
	it, err := imagetype.ScanBuf(br)
	if err != nil {
		return exifTags{}, err
	}
	h, err := tiff.ScanTiffHeader(br, it)
	if err != nil {
		return exifTags{}, err
	}
	ir := exif2.NewIfdReader(exif2.Logger)
	defer ir.Close()
	var x exifTags
	ir.SetCustomTagParser(x.parse)
	err = ir.DecodeTiff(br, h)
	return x, err
}

// decodeCR3 decodes the EXIF tags of a Canon CR3, which keeps them in
// boxes of its own.
func decodeCR3(r io.Reader) (exifTags, error) {
	br := bufio.NewReaderSize(r, 4<<10)
	ir := exif2.NewIfdReader(exif2.Logger)
	defer ir.Close()
	var x exifTags
	ir.SetCustomTagParser(x.parse)
	bmr := isobmff.NewReader(br)
	defer bmr.Close()
	bmr.ExifReader = ir.DecodeIfd
	if err := bmr.ReadFTYP(); err != nil {
		return x, err
	}
	for range 2 { // IFD0, then the EXIF IFD
		if err := bmr.ReadMetadata(); err != nil {
			return x, err
		}
	}
	return x, nil
}

// tiffMagic shows the RAW formats that are TIFF under another magic
// number (Olympus ORF "IIRO", "IIRS", "MMOR"; Panasonic RW2 "IIU\0") to the
// parser as the TIFF they are.
type tiffMagic struct{ r io.ReaderAt }

func (t tiffMagic) ReadAt(p []byte, off int64) (int, error) {
	n, err := t.r.ReadAt(p, off)
	if off < 4 {
		var magic [4]byte
		if _, err := t.r.ReadAt(magic[:], 0); err == nil {
			switch string(magic[:]) {
			case "IIRO", "IIRS", "IIU\x00":
				magic = [4]byte{'I', 'I', '*', 0}
			case "MMOR":
				magic = [4]byte{'M', 'M', 0, '*'}
			}
			copy(p[:n], magic[off:])
		}
	}
	return n, err
}

// decodeRAF reads the EXIF of a Fujifilm RAF from the JPEG preview it
// embeds; the header gives the preview's offset and length, big-endian,
// at bytes 84 and 88.
func decodeRAF(f *counter, size int64) (exifTags, error) {
	var h [8]byte
	if _, err := f.ReadAt(h[:], 84); err != nil {
		return exifTags{}, err
	}
	off := int64(binary.BigEndian.Uint32(h[:4]))
	n := int64(binary.BigEndian.Uint32(h[4:]))
	if off <= 0 || n <= 0 || off+n > size {
		return exifTags{}, errNoEXIF
	}
	return decodeJPEG(f, off, n)
}

// decodeJPEG decodes the EXIF segment of the JPEG at off, n bytes long.
// The segments are walked here rather than by the parser's own JPEG
// scanner, which loops forever on some broken files.
func decodeJPEG(r io.ReaderAt, off, n int64) (exifTags, error) {
	stream, err := jpegEXIF(io.NewSectionReader(r, off, n))
	if err != nil {
		return exifTags{}, err
	}
	return decodeTIFF(bytes.NewReader(stream))
}

// jpegEXIF returns the TIFF stream of a JPEG's APP1 EXIF segment, reading
// the segments before the image data and nothing else.
func jpegEXIF(r *io.SectionReader) ([]byte, error) {
	var b [4]byte
	if _, err := r.ReadAt(b[:2], 0); err != nil || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, errNoEXIF
	}
	for at := int64(2); ; {
		if _, err := r.ReadAt(b[:2], at); err != nil || b[0] != 0xFF {
			return nil, errNoEXIF
		}
		switch m := b[1]; {
		case m == 0xFF: // fill byte
			at++
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // no length
			at += 2
			continue
		case m == 0xDA || m == 0xD9: // image data, or the end: no EXIF
			return nil, errNoEXIF
		}
		if _, err := r.ReadAt(b[2:4], at+2); err != nil {
			return nil, errNoEXIF
		}
		n := int64(binary.BigEndian.Uint16(b[2:4]))
		if n < 2 {
			return nil, errNoEXIF
		}
		if b[1] == 0xE1 && n >= 2+6+8 {
			seg := make([]byte, n-2)
			if _, err := r.ReadAt(seg, at+4); err != nil {
				return nil, errNoEXIF
			}
			if string(seg[:6]) == "Exif\x00\x00" {
				return seg[6:], nil
			}
		}
		at += 2 + n
	}
}

// time is DateTimeOriginal in its recorded zone: OffsetTimeOriginal,
// else OffsetTime, else time.Local. An impossible date is none: false; an
// impossible offset is none.
func (x exifTags) time() (time.Time, bool) {
	loc := time.Local
	if l, ok := parseOffset(x.offsetOriginal); ok {
		loc = l
	} else if l, ok := parseOffset(x.offset); ok {
		loc = l
	}
	t, ok := exifDate(x.original, loc)
	if !ok || !plausible(t, 1900) {
		return time.Time{}, false
	}
	return t.Add(subsecond(x.subsec)), true
}

// exifDate reads an EXIF date, "2024:01:31 14:05:00" (some programs
// write "2024-01-31"), as a wall clock in loc. Blanks, zeros and dates
// that do not exist are not dates.
func exifDate(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 19 || (s[4] != ':' && s[4] != '-') || s[7] != s[4] || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	var n [6]int
	for i, at := range []int{0, 5, 8, 11, 14, 17} {
		end := at + 2
		if i == 0 {
			end = 4
		}
		v, ok := digits(s[at:end])
		if !ok {
			return time.Time{}, false
		}
		n[i] = v
	}
	return civil(n[0], n[1], n[2], n[3], n[4], n[5], loc)
}

// subsecond reads SubSecTimeOriginal, the decimal digits of a fraction of
// a second ("25" is 0.25 s); anything else is none.
func subsecond(s string) time.Duration {
	s = strings.TrimRight(s, " ")
	v, ok := digits(s)
	if !ok || len(s) > 9 {
		return 0
	}
	for range 9 - len(s) {
		v *= 10
	}
	return time.Duration(v)
}
