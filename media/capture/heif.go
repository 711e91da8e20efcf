package capture

import (
	"encoding/binary"
	"errors"
	"io"
)

var errNoEXIF = errors.New("no EXIF data")

// maxMeta bounds the HEIF meta box read into memory; an iPhone's is a few
// KiB.
const maxMeta = 1 << 20

// boxAt reads the header of the ISO base media box at off: its type, total
// size and header length. A size of 0 (to the end of the file) is turned
// into the bytes left.
func boxAt(r io.ReaderAt, off, end int64) (typ string, size, hdr int64, err error) {
	var b [16]byte
	if end-off < 8 {
		return "", 0, 0, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return "", 0, 0, err
	}
	typ, size, hdr = string(b[4:8]), int64(binary.BigEndian.Uint32(b[:4])), 8
	switch size {
	case 0:
		size = end - off
	case 1:
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return "", 0, 0, err
		}
		size, hdr = int64(binary.BigEndian.Uint64(b[8:16])), 16
	}
	if size < hdr || size > end-off {
		return "", 0, 0, io.ErrUnexpectedEOF
	}
	return typ, size, hdr, nil
}

// wholeBoxes says whether the file's first n top-level boxes are all there,
// so that a parser that cannot stop at a short file is not handed one.
func wholeBoxes(r io.ReaderAt, size int64, n int) bool {
	off := int64(0)
	for range n {
		if size-off < 16 { // the parser peeks 16 bytes for each header
			return false
		}
		_, s, _, err := boxAt(r, off, size)
		if err != nil {
			return false
		}
		off += s
	}
	return true
}

// heifEXIF finds the TIFF stream of the Exif item of a HEIF file (HEIC,
// AVIF): the meta box's iinf names the item, its iloc says where its bytes
// are.
func heifEXIF(r io.ReaderAt, size int64) (off, n int64, err error) {
	for at := int64(0); at < size; {
		typ, s, hdr, err := boxAt(r, at, size)
		if err != nil {
			return 0, 0, err
		}
		if typ == "meta" {
			if s-hdr > maxMeta {
				return 0, 0, errNoEXIF
			}
			b := make([]byte, s-hdr)
			if _, err := r.ReadAt(b, at+hdr); err != nil {
				return 0, 0, err
			}
			off, n, ok := metaEXIF(b)
			if !ok || off+n > size || n < 4 {
				return 0, 0, errNoEXIF
			}
			// The item starts with the offset of the TIFF header that
			// follows ("Exif\0\0" in between).
			var h [4]byte
			if _, err := r.ReadAt(h[:], off); err != nil {
				return 0, 0, err
			}
			skip := 4 + int64(binary.BigEndian.Uint32(h[:]))
			if skip >= n {
				return 0, 0, errNoEXIF
			}
			return off + skip, n - skip, nil
		}
		at += s
	}
	return 0, 0, errNoEXIF
}

// children lists the boxes inside b by type (the first of each type).
func children(b []byte) map[string][]byte {
	m := map[string][]byte{}
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			break
		}
		if _, ok := m[string(b[4:8])]; !ok {
			m[string(b[4:8])] = b[8:size]
		}
		b = b[size:]
	}
	return m
}

// metaEXIF reads a HEIF meta box's payload (version and flags first) for
// the file extent of its Exif item.
func metaEXIF(meta []byte) (off, n int64, ok bool) {
	if len(meta) < 4 {
		return 0, 0, false
	}
	kids := children(meta[4:])
	id, ok := exifItemID(kids["iinf"])
	if !ok {
		return 0, 0, false
	}
	return itemExtent(kids["iloc"], id)
}

// exifItemID finds the ID of the item of type "Exif" in an iinf box.
func exifItemID(iinf []byte) (uint32, bool) {
	if len(iinf) < 6 {
		return 0, false
	}
	p := iinf[6:] // version, flags, 16-bit count
	if iinf[0] != 0 {
		p = iinf[8:] // 32-bit count
	}
	for len(p) >= 8 {
		size := int(binary.BigEndian.Uint32(p))
		if size < 8 || size > len(p) {
			return 0, false
		}
		infe := p[8:size]
		p = p[size:]
		if len(infe) < 4 || infe[0] < 2 {
			continue
		}
		var id uint32
		var typ []byte
		switch {
		case infe[0] == 2 && len(infe) >= 12:
			id, typ = uint32(binary.BigEndian.Uint16(infe[4:])), infe[8:12]
		case infe[0] >= 3 && len(infe) >= 14:
			id, typ = binary.BigEndian.Uint32(infe[4:]), infe[10:14]
		default:
			continue
		}
		if string(typ) == "Exif" {
			return id, true
		}
	}
	return 0, false
}

// itemExtent reads an iloc box for the first extent of item id, stored in
// the file itself (construction method 0).
func itemExtent(iloc []byte, id uint32) (off, n int64, ok bool) {
	r := &bits{b: iloc}
	version := r.uint(1)
	r.uint(3) // flags
	sizes := r.uint(2)
	offSize, lenSize := int(sizes>>12), int(sizes>>8&15)
	baseSize, indexSize := int(sizes>>4&15), int(sizes&15)
	if version == 0 {
		indexSize = 0
	}
	if lenSize == 0 {
		return 0, 0, false // to the end of the file: never an Exif item
	}
	count := r.uint(2)
	if version == 2 {
		count = r.uint(4)
	}
	for range count {
		if r.bad {
			return 0, 0, false
		}
		itemID := r.uint(2)
		if version == 2 {
			itemID = r.uint(4)
		}
		method := uint64(0)
		if version == 1 || version == 2 {
			method = r.uint(2) & 15
		}
		r.uint(2) // data reference index
		base := r.uint(baseSize)
		extents := r.uint(2)
		for e := range extents {
			r.uint(indexSize)
			eo, el := r.uint(offSize), r.uint(lenSize)
			if e == 0 && uint32(itemID) == id && !r.bad {
				if method != 0 || el == 0 || base+eo > 1<<62 || el > 1<<62 {
					return 0, 0, false
				}
				return int64(base + eo), int64(el), true
			}
		}
	}
	return 0, 0, false
}

// bits reads big-endian integers of 0–8 bytes, noting a short read.
type bits struct {
	b   []byte
	bad bool
}

func (r *bits) uint(n int) uint64 {
	if n > 8 || len(r.b) < n {
		r.bad, r.b = true, nil
		return 0
	}
	var v uint64
	for _, c := range r.b[:n] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[n:]
	return v
}
