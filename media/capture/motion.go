package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// A motion photo is a still with a short video inside. It is told by its
// content alone, never by its name: an MVIMG_….jpg or ….MP.jpg whose video
// an editor dropped is a plain still.

// motionWindow is how much of a still's start (its XMP) and end (a
// Samsung trailer) is searched for motion photo markers.
const motionWindow = 64 << 10

// maxJPEGScan bounds how much of a JPEG is read to find its end: a motion
// photo's still is a few MiB.
const maxJPEGScan = 64 << 20

// motionXMP matches the XMP properties that mark a motion photo, as an
// attribute (GCamera:MotionPhoto="1") or an element
// (<GCamera:MotionPhoto>1</GCamera:MotionPhoto>).
var motionXMP = regexp.MustCompile(`(?:Camera:MotionPhoto|Camera:MicroVideo)(?:\s*=\s*["']1["']|>\s*1\s*<)`)

// windows holds the buffers motionBytes reads into, one photo after
// another.
var windows = sync.Pool{New: func() any { b := make([]byte, motionWindow); return &b }}

// samsungTrailer marks the video a Samsung motion photo appends.
var samsungTrailer = []byte("MotionPhoto_Data")

// motionBytes says whether a still named name holds a video: the XMP
// flags of Google's motion photos in its first motionWindow bytes,
// Samsung's trailer in its first or last, or, for a JPEG whose name is one
// phones give motion photos (MVIMG_…, ….MP.jpg), an MP4 right after the
// JPEG's end. Finding that end reads the whole image, so it is looked for
// only where the name gives reason to: the name alone never marks a file.
func motionBytes(f *counter, size int64, kind int, name string) bool {
	buf := windows.Get().(*[]byte)
	defer windows.Put(buf)
	head := (*buf)[:min(size, motionWindow)]
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if bytes.Contains(head, samsungTrailer) || hasMotionXMP(head) {
		return true
	}
	if size > motionWindow {
		tail := (*buf)[:min(size-motionWindow, motionWindow)]
		n, _ = f.ReadAt(tail, size-int64(len(tail)))
		if bytes.Contains(tail[:n], samsungTrailer) {
			return true
		}
	}
	return kind == kindJPEG && motionName(name) && videoAfterJPEG(f, size)
}

// motionName reports whether name is one phones give a motion photo:
// Google's MVIMG_….jpg and PXL_….MP.jpg.
func motionName(name string) bool {
	base := strings.ToUpper(name)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	return strings.HasPrefix(base, "MVIMG_") || strings.HasSuffix(stem, ".MP")
}

// hasMotionXMP looks for the XMP property, with a plain search first: the
// pattern is slow on the many KiB of a JPEG's start.
func hasMotionXMP(b []byte) bool {
	return (bytes.Contains(b, []byte("Camera:MotionPhoto")) || bytes.Contains(b, []byte("Camera:MicroVideo"))) &&
		motionXMP.Match(b)
}

// videoAfterJPEG says whether an MP4 (its ftyp box) follows the JPEG the
// file starts with, or the JPEGs that follow that one (an Ultra HDR gain
// map, a depth map). Finding a JPEG's end reads its image data.
func videoAfterJPEG(r io.ReaderAt, size int64) bool {
	at := int64(0)
	for range 4 {
		end, ok := jpegEnd(r, at, min(size, at+maxJPEGScan))
		if !ok {
			return false
		}
		var b [12]byte
		n, _ := r.ReadAt(b[:], end)
		switch {
		case n == len(b) && string(b[4:8]) == "ftyp":
			box := int64(binary.BigEndian.Uint32(b[:4]))
			return box >= 12 && box <= size-end
		case n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
			at = end
		default:
			return false
		}
	}
	return false
}

// jpegEnd returns the offset just past the EOI marker of the JPEG at at,
// walking its segments and scanning its entropy-coded data; false when
// the JPEG is broken or does not end before size.
func jpegEnd(r io.ReaderAt, at, size int64) (int64, bool) {
	var b [4]byte
	at += 2 // SOI
	for at+2 <= size {
		if _, err := r.ReadAt(b[:2], at); err != nil || b[0] != 0xFF {
			return 0, false
		}
		switch m := b[1]; {
		case m == 0xD9:
			return at + 2, true
		case m == 0xFF: // fill byte
			at++
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // no length
			at += 2
			continue
		}
		if _, err := r.ReadAt(b[2:4], at+2); err != nil {
			return 0, false
		}
		n := int64(binary.BigEndian.Uint16(b[2:4]))
		if n < 2 {
			return 0, false
		}
		at += 2 + n
		if b[1] == 0xDA { // a scan: entropy-coded data up to the next marker
			var ok bool
			if at, ok = nextMarker(r, at, size); !ok {
				return 0, false
			}
		}
	}
	return 0, false
}

// nextMarker returns the offset of the first marker at or after at in
// entropy-coded data, where an 0xFF followed by 0x00 (a stuffed byte) or
// by a restart marker is data.
func nextMarker(r io.ReaderAt, at, size int64) (int64, bool) {
	buf := make([]byte, 64<<10)
	for at < size {
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-at)], at)
		if n < 2 {
			return 0, false
		}
		for i := 0; ; {
			j := bytes.IndexByte(buf[i:n], 0xFF)
			if j < 0 || i+j+1 >= n {
				break
			}
			i += j
			switch c := buf[i+1]; {
			case c == 0x00 || c >= 0xD0 && c <= 0xD7:
				i += 2
			case c == 0xFF:
				i++
			default:
				return at + int64(i), true
			}
		}
		at += int64(n - 1) // the last byte again: its pair is in the next read
	}
	return 0, false
}
