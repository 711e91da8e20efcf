package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/evanoberholster/imagemeta"
	"github.com/evanoberholster/imagemeta/exif2"
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
	var x exif2.Exif
	ok := safely(func() bool {
		// An error after some tags were read (a broken later IFD) still
		// leaves those tags.
		x, _ = decodeEXIF(f, size, kind)
		return true
	})
	if !ok {
		return Info{}
	}
	info := Info{Orientation: int(x.Orientation)}
	if info.Orientation < 1 || info.Orientation > 8 {
		info.Orientation = 0
	}
	if t, ok := exifTime(x); ok {
		info.Time, info.Source = t, wire.CaptureEXIF
	}
	return info
}

// decodeEXIF finds the EXIF data of a still and decodes it.
func decodeEXIF(f *counter, size int64, kind int) (exif2.Exif, error) {
	limit := min(size, maxEXIFScan)
	switch kind {
	case kindJPEG:
		return decodeJPEG(f, 0, size)
	case kindTIFF:
		return imagemeta.DecodeTiff(io.NewSectionReader(tiffMagic{f}, 0, limit))
	case kindRAF:
		return decodeRAF(f, size)
	case kindCR3:
		if !wholeBoxes(f, size, 3) {
			return exif2.Exif{}, errNoEXIF
		}
		return imagemeta.DecodeCR3(io.NewSectionReader(f, 0, size))
	case kindHEIF:
		off, n, err := heifEXIF(f, size)
		if err != nil {
			return exif2.Exif{}, err
		}
		return imagemeta.DecodeTiff(io.NewSectionReader(f, off, n))
	}
	return exif2.Exif{}, errNoEXIF
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
func decodeRAF(f *counter, size int64) (exif2.Exif, error) {
	var h [8]byte
	if _, err := f.ReadAt(h[:], 84); err != nil {
		return exif2.Exif{}, err
	}
	off := int64(binary.BigEndian.Uint32(h[:4]))
	n := int64(binary.BigEndian.Uint32(h[4:]))
	if off <= 0 || n <= 0 || off+n > size {
		return exif2.Exif{}, errNoEXIF
	}
	return decodeJPEG(f, off, n)
}

// decodeJPEG decodes the EXIF segment of the JPEG at off, n bytes long.
// The segments are walked here rather than by the parser's own JPEG
// scanner, which loops forever on some broken files.
func decodeJPEG(r io.ReaderAt, off, n int64) (exif2.Exif, error) {
	tiff, err := jpegEXIF(io.NewSectionReader(r, off, n))
	if err != nil {
		return exif2.Exif{}, err
	}
	return imagemeta.DecodeTiff(bytes.NewReader(tiff))
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

// exifTime is DateTimeOriginal in its recorded zone: OffsetTimeOriginal,
// else OffsetTime, else time.Local.
func exifTime(x exif2.Exif) (time.Time, bool) {
	t := x.DateTimeOriginal()
	if !plausible(t, 1900) {
		return time.Time{}, false
	}
	// The parser gives UTC when no offset was recorded and a fixed zone
	// when one was (even +00:00).
	if t.Location() != time.UTC {
		return t, true
	}
	loc := time.Local
	if m := x.ModifyDate(); m.Location() != time.UTC {
		loc = m.Location()
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), true
}
