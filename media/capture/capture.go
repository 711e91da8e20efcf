// Package capture finds when a photo or video was taken: from its EXIF
// data, from the video's own metadata, from a date in its name, or, failing
// those, from its modification time.
package capture

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// Source says where a capture time came from (wire.CaptureEXIF, …).
type Source = string

// Info is what a file says about its taking.
type Info struct {
	// Time is the capture time in the zone it was taken in: the recorded
	// offset when there is one, else time.Local (the wall clock as
	// recorded, read as this machine's zone).
	Time   time.Time
	Source Source
	// Orientation is the EXIF orientation (1–8); 0 when there is none.
	Orientation int
	// ContentID is Apple's ContentIdentifier, shared by the photo and the
	// video of a Live Photo; empty when absent. Only QuickTime movies
	// carry it here: the stills keep it in Apple's maker notes, which the
	// EXIF parser does not read.
	ContentID string
	// Motion says the file is a still with an embedded video (a Google or
	// Samsung motion photo).
	Motion bool
}

// Read returns what the file at path says about its taking. mtime is the
// file's modification time, the last resort. Read fails only when the file
// cannot be read; unparseable metadata and impossible dates fall through
// to the next source. It reads headers only (a few KiB to a few hundred
// KiB), never a video's data; a JPEG without motion photo markers is read
// to its end, where a motion photo's video would start.
func Read(path string, mtime time.Time) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("read capture time: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("read capture time: %w", err)
	}
	return read(&counter{f: f}, st.Size(), filepath.Base(path), mtime), nil
}

// read is Read on an open file of size bytes named name.
func read(f *counter, size int64, name string, mtime time.Time) Info {
	var info Info
	head := make([]byte, 64)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch kind := sniff(head); kind {
	case kindJPEG, kindTIFF, kindRAF, kindCR3, kindHEIF:
		info = readEXIF(f, size, kind)
		if kind == kindJPEG || kind == kindHEIF {
			info.Motion = motionBytes(f, size, kind, name)
		}
	case kindVideo:
		info = readVideo(f, size)
	}
	if info.Time.IsZero() {
		if t, ok := nameTime(name, time.Now()); ok {
			info.Time, info.Source = t, wire.CaptureName
		}
	}
	if info.Time.IsZero() {
		info.Time, info.Source = mtime.In(time.Local), wire.CaptureMTime
	}
	return info
}

// Kinds of file, by their first bytes.
const (
	kindOther = iota
	kindJPEG
	kindTIFF // TIFF and the RAW formats built on it: DNG, CR2, NEF, ARW, ORF, RW2…
	kindRAF
	kindCR3
	kindHEIF
	kindVideo
)

// sniff tells a file's kind from its first bytes, whatever its name says.
func sniff(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return kindJPEG
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")),
		bytes.HasPrefix(b, []byte("IIRO")), bytes.HasPrefix(b, []byte("IIRS")),
		bytes.HasPrefix(b, []byte("MMOR")), bytes.HasPrefix(b, []byte("IIU\x00")):
		return kindTIFF
	case bytes.HasPrefix(b, []byte("FUJIFILMCCD-RAW")):
		return kindRAF
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		return brandKind(b[8:])
	case len(b) >= 8 && isMovieAtom(string(b[4:8])):
		return kindVideo // an old QuickTime movie without ftyp
	}
	return kindOther
}

// brandKind sorts an ISO base media file by its brands (major, minor
// version, compatible…).
func brandKind(b []byte) int {
	major := string(b[:4])
	switch major {
	case "crx ":
		return kindCR3
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis", "mif2":
		return kindHEIF
	}
	return kindVideo
}

func isMovieAtom(typ string) bool {
	switch typ {
	case "moov", "mdat", "wide", "free", "skip", "pnot":
		return true
	}
	return false
}

// counter is a file that counts the bytes read from it, so that tests can
// see Read stays cheap.
type counter struct {
	f   *os.File
	n   int64
	pos int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.f.ReadAt(p, c.pos)
	c.n += int64(n)
	c.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (c *counter) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func (c *counter) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += c.pos
	case io.SeekEnd:
		st, err := c.f.Stat()
		if err != nil {
			return c.pos, err
		}
		off += st.Size()
	}
	if off < 0 {
		return c.pos, fmt.Errorf("seek %s to %d: negative position", c.f.Name(), off)
	}
	c.pos = off
	return off, nil
}

// safely runs fn, turning a panic in a parser (hostile input) into false.
func safely(fn func() bool) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return fn()
}

// plausible says whether t can be a capture time: not before 1900 (EXIF
// of all zeros) and not more than a day in the future.
func plausible(t time.Time, earliest int) bool {
	return !t.IsZero() && t.Year() >= earliest && t.Before(time.Now().Add(24*time.Hour))
}
