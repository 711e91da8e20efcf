// Package mediatest makes real photo and video files for tests: JPEGs with
// real EXIF segments, PNGs, DNGs with an embedded JPEG preview, and MP4 and
// MOV files with real atoms. Every image shows the same pattern, its
// top-left quadrant pure red and the rest pure blue, so that a test can see
// whether an orientation was applied.
package mediatest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
	"time"
)

// EXIF is the metadata a camera writes. The zero value writes no EXIF.
type EXIF struct {
	// DateTimeOriginal is written as is, e.g. "2024:01:31 14:05:00";
	// empty: none.
	DateTimeOriginal string
	// OffsetTimeOriginal is the offset of DateTimeOriginal, e.g. "+09:00";
	// empty: none.
	OffsetTimeOriginal string
	// Orientation is the EXIF orientation, 1–8; 0: none.
	Orientation int
	Make, Model string

	// OffsetTime is the offset of DateTime (tag 0x9010); empty: none.
	OffsetTime string
	// DateTime is IFD0's modification date (tag 0x0132); empty: none.
	DateTime string
	// SubSecTimeOriginal is the fraction of DateTimeOriginal's second,
	// e.g. "123"; empty: none.
	SubSecTimeOriginal string
}

// Red and Blue are the pattern's two colours.
var (
	Red  = color.RGBA{R: 255, A: 255}
	Blue = color.RGBA{B: 255, A: 255}
)

// Pattern is a w×h image whose top-left quadrant is red and the rest blue.
func Pattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := Blue
			if x < w/2 && y < h/2 {
				c = Red
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// JPEG is a real baseline JPEG of the pattern, with an APP1 EXIF segment
// right after SOI when e is not zero.
func JPEG(t testing.TB, w, h int, e EXIF) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, Pattern(w, h), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatalf("encode jpeg: %v", err)
	}
	b := buf.Bytes()
	if e == (EXIF{}) {
		return b
	}
	return insertSegment(b, 0xE1, append([]byte("Exif\x00\x00"), exifTIFF(e)...))
}

// WithXMP returns the JPEG j with an APP1 XMP packet holding xmp (the
// x:xmpmeta element and what it holds) inserted after its other APP1
// segments.
func WithXMP(t testing.TB, j []byte, xmp string) []byte {
	t.Helper()
	if len(j) < 2 || j[0] != 0xFF || j[1] != 0xD8 {
		t.Fatal("WithXMP: not a JPEG")
	}
	payload := "http://ns.adobe.com/xap/1.0/\x00" +
		`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` + xmp + `<?xpacket end="w"?>`
	return insertSegment(j, 0xE1, []byte(payload))
}

// MotionXMP is the XMP a Google camera writes into a motion photo.
const MotionXMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
	`<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" GCamera:MotionPhotoPresentationTimestampUs="0"/>` +
	`</rdf:RDF></x:xmpmeta>`

// SamsungTrailer is what a Samsung motion photo appends after its JPEG:
// the embedded video follows the marker.
const SamsungTrailer = "MotionPhoto_Data"

// insertSegment puts a marker segment after SOI and any APPn segments
// already there.
func insertSegment(j []byte, marker byte, payload []byte) []byte {
	at := 2
	for at+4 <= len(j) && j[at] == 0xFF && j[at+1] >= 0xE0 && j[at+1] <= 0xEF {
		at += 2 + int(j[at+2])<<8 | int(j[at+3])
	}
	seg := []byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte(nil), j[:at]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[at:]...)
}

// PNG is a real PNG of the pattern.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, Pattern(w, h)); err != nil {
		t.Fatalf("encode png: %v", err)
	}
	return buf.Bytes()
}

// DNG is a little-endian DNG as many cameras write it: IFD0 is a
// reduced-resolution preview (NewSubfileType 1, Compression 7: a baseline
// JPEG of the pattern, previewW×previewH, in one strip) carrying the
// camera tags, DNGVersion 1.4 and the EXIF IFD; its SubIFD is the raw
// image, a 4×4 16-bit CFA strip.
func DNG(t testing.TB, e EXIF, previewW, previewH int) []byte {
	t.Helper()
	preview := JPEG(t, previewW, previewH, EXIF{})
	raw := make([]byte, 4*4*2)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	ifd0 := append(ifd0Entries(e),
		longs(0x00FE, 1),
		longs(0x0100, uint32(previewW)),
		longs(0x0101, uint32(previewH)),
		shorts(0x0102, 8, 8, 8),
		shorts(0x0103, 7),
		shorts(0x0106, 6),
		longs(0x0111, 0), // strip offset, set below
		shorts(0x0115, 3),
		longs(0x0116, uint32(previewH)),
		longs(0x0117, uint32(len(preview))),
		shorts(0x011C, 1),
		ascii(0x0131, "mediatest"),
		longs(0x014A, 0), // SubIFDs, set below
		longs(0x8769, 0), // EXIF IFD, set below
		bytesOf(0xC612, tByte, []byte{1, 4, 0, 0}),
		bytesOf(0xC613, tByte, []byte{1, 1, 0, 0}),
		ascii(0xC614, e.Make+" "+e.Model),
	)
	rawIFD := []entry{
		longs(0x00FE, 0),
		longs(0x0100, 4),
		longs(0x0101, 4),
		shorts(0x0102, 16),
		shorts(0x0103, 1),
		shorts(0x0106, 32803),
		longs(0x0111, 0), // strip offset, set below
		shorts(0x0115, 1),
		longs(0x0116, 4),
		longs(0x0117, uint32(len(raw))),
		shorts(0x011C, 1),
		shorts(0x828D, 2, 2),
		bytesOf(0x828E, tByte, []byte{0, 1, 1, 2}),
		longs(0xC61D, 65535),
	}
	exif := exifEntries(e)
	exifAt := 8 + ifdSize(ifd0)
	rawAt := exifAt + ifdSize(exif)
	previewAt := rawAt + ifdSize(rawIFD)
	stripAt := previewAt + uint32(len(preview))
	set(ifd0, 0x0111, previewAt)
	set(ifd0, 0x014A, rawAt)
	set(ifd0, 0x8769, exifAt)
	set(rawIFD, 0x0111, stripAt)

	b := tiffHeader()
	b = append(b, ifdBytes(8, ifd0, 0)...)
	b = append(b, ifdBytes(exifAt, exif, 0)...)
	b = append(b, ifdBytes(rawAt, rawIFD, 0)...)
	b = append(b, preview...)
	return append(b, raw...)
}

// set puts v into the single LONG entry tag of es.
func set(es []entry, tag uint16, v uint32) {
	for i := range es {
		if es[i].tag == tag {
			es[i] = longs(tag, v)
		}
	}
}

// Write writes b to path and sets the file's modification time to mtime
// (when not zero).
func Write(t testing.TB, path string, b []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}
