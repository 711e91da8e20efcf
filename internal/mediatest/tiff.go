package mediatest

import (
	"encoding/binary"
	"sort"
)

// TIFF field types.
const (
	tByte      = 1
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tUndefined = 7
)

var le = binary.LittleEndian

// entry is one TIFF IFD entry; val holds the value bytes, little-endian.
type entry struct {
	tag   uint16
	typ   uint16
	count uint32
	val   []byte
}

func ascii(tag uint16, s string) entry {
	return entry{tag, tASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

func shorts(tag uint16, vs ...uint16) entry {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		le.PutUint16(b[2*i:], v)
	}
	return entry{tag, tShort, uint32(len(vs)), b}
}

func longs(tag uint16, vs ...uint32) entry {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		le.PutUint32(b[4*i:], v)
	}
	return entry{tag, tLong, uint32(len(vs)), b}
}

func bytesOf(tag, typ uint16, b []byte) entry {
	return entry{tag, typ, uint32(len(b)), b}
}

// ifdSize is the size of an IFD with its out-of-line values right after it.
func ifdSize(es []entry) uint32 {
	n := uint32(2 + 12*len(es) + 4)
	for _, e := range es {
		if len(e.val) > 4 {
			n += uint32(len(e.val)+1) &^ 1
		}
	}
	return n
}

// ifdBytes lays out an IFD that starts at offset base of the TIFF stream,
// its values that do not fit in an entry following it. next is the offset
// of the next IFD (0: none).
func ifdBytes(base uint32, es []entry, next uint32) []byte {
	es = append([]entry(nil), es...)
	sort.Slice(es, func(i, j int) bool { return es[i].tag < es[j].tag })
	head := make([]byte, 2+12*len(es)+4)
	le.PutUint16(head, uint16(len(es)))
	var extra []byte
	extraAt := base + uint32(len(head))
	for i, e := range es {
		p := head[2+12*i:]
		le.PutUint16(p, e.tag)
		le.PutUint16(p[2:], e.typ)
		le.PutUint32(p[4:], e.count)
		if len(e.val) <= 4 {
			copy(p[8:12], e.val)
			continue
		}
		le.PutUint32(p[8:], extraAt+uint32(len(extra)))
		extra = append(extra, e.val...)
		if len(e.val)%2 == 1 {
			extra = append(extra, 0)
		}
	}
	le.PutUint32(head[2+12*len(es):], next)
	return append(head, extra...)
}

// tiffHeader is the little-endian TIFF header with IFD0 at offset 8.
func tiffHeader() []byte {
	return []byte{'I', 'I', 42, 0, 8, 0, 0, 0}
}

// exifEntries are the entries of the EXIF sub-IFD for e.
func exifEntries(e EXIF) []entry {
	es := []entry{bytesOf(0x9000, tUndefined, []byte("0232"))}
	if e.DateTimeOriginal != "" {
		es = append(es, ascii(0x9003, e.DateTimeOriginal), ascii(0x9004, e.DateTimeOriginal))
	}
	if e.OffsetTime != "" {
		es = append(es, ascii(0x9010, e.OffsetTime))
	}
	if e.OffsetTimeOriginal != "" {
		es = append(es, ascii(0x9011, e.OffsetTimeOriginal), ascii(0x9012, e.OffsetTimeOriginal))
	}
	if e.SubSecTimeOriginal != "" {
		es = append(es, ascii(0x9291, e.SubSecTimeOriginal))
	}
	return es
}

// ifd0Entries are the camera entries of IFD0 for e, without pointers.
func ifd0Entries(e EXIF) []entry {
	var es []entry
	if e.Make != "" {
		es = append(es, ascii(0x010F, e.Make))
	}
	if e.Model != "" {
		es = append(es, ascii(0x0110, e.Model))
	}
	if e.Orientation != 0 {
		es = append(es, shorts(0x0112, uint16(e.Orientation)))
	}
	if e.DateTime != "" {
		es = append(es, ascii(0x0132, e.DateTime))
	}
	return es
}

// exifTIFF is the TIFF stream of a JPEG's APP1 segment: IFD0 and the
// EXIF IFD.
func exifTIFF(e EXIF) []byte {
	ifd0 := append(ifd0Entries(e), longs(0x8769, 0))
	exifAt := 8 + ifdSize(ifd0)
	ifd0[len(ifd0)-1] = longs(0x8769, exifAt)
	b := tiffHeader()
	b = append(b, ifdBytes(8, ifd0, 0)...)
	return append(b, ifdBytes(exifAt, exifEntries(e), 0)...)
}
