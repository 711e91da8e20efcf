package mediatest

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

var be = binary.BigEndian

// MOVMeta is what a QuickTime movie says about its taking.
type MOVMeta struct {
	// Created is mvhd's creation time; zero: 0 (unset).
	Created time.Time
	// CreationDate is the QuickTime mdta key
	// com.apple.quicktime.creationdate, e.g. "2024-01-31T14:05:00+0900";
	// empty: none.
	CreationDate string
	// ContentID is com.apple.quicktime.content.identifier, shared with
	// the still of a Live Photo; empty: none.
	ContentID string
	// Day is a QuickTime user data ©day string (moov/udta/©day), e.g.
	// "2024-01-31T14:05:00+0900"; empty: none.
	Day string
}

// box is an ISO base media box of type typ holding payload.
func box(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := make([]byte, 8, n)
	be.PutUint32(b, uint32(n))
	copy(b[4:], typ)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return be.AppendUint16(nil, v) }
func u32(v uint32) []byte { return be.AppendUint32(nil, v) }
func u64(v uint64) []byte { return be.AppendUint64(nil, v) }

// mac is t in seconds since 1904-01-01 UTC, the epoch of mvhd; 0 for a zero t.
func mac(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix() + 2082844800)
}

// matrix is the identity transformation matrix of mvhd and tkhd.
func matrix() []byte {
	var b []byte
	for _, v := range []uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000} {
		b = append(b, u32(v)...)
	}
	return b
}

// mvhd is a movie header with creation (and modification) time created and
// a duration of one second; version 1 when the time does not fit 32 bits.
func mvhd(created time.Time) []byte {
	c := mac(created)
	var p []byte
	if c > 0xFFFFFFFF {
		p = append(u32(1<<24), u64(c)...)
		p = append(p, u64(c)...)
		p = append(p, u32(1000)...)
		p = append(p, u64(1000)...)
	} else {
		p = append(u32(0), u32(uint32(c))...)
		p = append(p, u32(uint32(c))...)
		p = append(p, u32(1000)...)
		p = append(p, u32(1000)...)
	}
	p = append(p, u32(0x10000)...) // rate 1.0
	p = append(p, u16(0x100)...)   // volume 1.0
	p = append(p, make([]byte, 10)...)
	p = append(p, matrix()...)
	p = append(p, make([]byte, 24)...)
	p = append(p, u32(2)...) // next track ID
	return box("mvhd", p)
}

// trak is a minimal video track of 16×16 with no samples.
func trak(created time.Time) []byte {
	c := uint32(mac(created))
	tkhd := append(u32(3), u32(c)...) // flags: enabled, in movie
	tkhd = append(tkhd, u32(c)...)
	tkhd = append(tkhd, u32(1)...) // track ID
	tkhd = append(tkhd, u32(0)...)
	tkhd = append(tkhd, u32(1000)...)
	tkhd = append(tkhd, make([]byte, 8+2+2+2+2)...)
	tkhd = append(tkhd, matrix()...)
	tkhd = append(tkhd, u32(16<<16)...)
	tkhd = append(tkhd, u32(16<<16)...)

	mdhd := append(u32(0), u32(c)...)
	mdhd = append(mdhd, u32(c)...)
	mdhd = append(mdhd, u32(1000)...)
	mdhd = append(mdhd, u32(1000)...)
	mdhd = append(mdhd, u16(0x55C4)...) // "und"
	mdhd = append(mdhd, u16(0)...)

	hdlr := append(u32(0), u32(0)...)
	hdlr = append(hdlr, "vide"...)
	hdlr = append(hdlr, make([]byte, 12)...)
	hdlr = append(hdlr, "VideoHandler\x00"...)

	empty := u32(0) // version, flags
	stbl := box("stbl",
		box("stsd", empty, u32(0)),
		box("stts", empty, u32(0)),
		box("stsc", empty, u32(0)),
		box("stsz", empty, u32(0), u32(0)),
		box("stco", empty, u32(0)),
	)
	minf := box("minf",
		box("vmhd", u32(1), make([]byte, 8)),
		box("dinf", box("dref", empty, u32(1), box("url ", u32(1)))),
		stbl,
	)
	return box("trak", box("tkhd", tkhd), box("mdia", box("mdhd", mdhd), box("hdlr", hdlr), minf))
}

// MP4 is an MP4 (ftyp isom) whose mvhd says it was created at created (zero:
// unset), with a minimal video track and no other metadata.
func MP4(t testing.TB, created time.Time) []byte {
	t.Helper()
	ftyp := box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2mp41"))
	return append(ftyp, box("moov", mvhd(created), trak(created))...)
}

// MOV is a QuickTime movie (ftyp "qt  ") with m's mvhd time and, when set,
// the QuickTime metadata (moov/meta with mdta keys, as an iPhone writes it)
// and a ©day user data string.
func MOV(t testing.TB, m MOVMeta) []byte {
	t.Helper()
	ftyp := box("ftyp", []byte("qt  "), u32(0x20050300), []byte("qt  "))
	moov := [][]byte{mvhd(m.Created), trak(m.Created)}
	if m.Day != "" {
		s := append(u16(uint16(len(m.Day))), u16(0x15C7)...) // language "eng"
		moov = append(moov, box("udta", box("\xa9day", s, []byte(m.Day))))
	}
	var keys, values []string
	if m.CreationDate != "" {
		keys, values = append(keys, "com.apple.quicktime.creationdate"), append(values, m.CreationDate)
	}
	if m.ContentID != "" {
		keys, values = append(keys, "com.apple.quicktime.content.identifier"), append(values, m.ContentID)
	}
	if len(keys) > 0 {
		moov = append(moov, qtMeta(keys, values))
	}
	return append(ftyp, box("moov", moov...)...)
}

// qtMeta is a QuickTime metadata atom: hdlr mdta, keys, and ilst items
// numbered by key, each holding a UTF-8 data atom. Like an iPhone's, the
// meta atom has no version and flags.
func qtMeta(keys, values []string) []byte {
	hdlr := append(u32(0), u32(0)...)
	hdlr = append(hdlr, "mdta"...)
	hdlr = append(hdlr, make([]byte, 12)...)
	hdlr = append(hdlr, 0)
	k := append(u32(0), u32(uint32(len(keys)))...)
	var items [][]byte
	for i, key := range keys {
		k = append(k, u32(uint32(8+len(key)))...)
		k = append(k, "mdta"...)
		k = append(k, key...)
		data := box("data", u32(1), u32(0), []byte(values[i]))
		items = append(items, box(string(u32(uint32(i+1))), data))
	}
	return box("meta", box("hdlr", hdlr), box("keys", k), box("ilst", items...))
}

// WriteMP4MoovLast writes an MP4 as a camera that never rewrites its file
// does: ftyp, an mdat of mdatSize bytes (a hole on disk), then moov with
// mvhd created at created. It sets the file's mtime to mtime when not zero.
func WriteMP4MoovLast(t testing.TB, path string, created time.Time, mdatSize int64, mtime time.Time) {
	t.Helper()
	mp4 := MP4(t, created)
	ftypLen := int(be.Uint32(mp4))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	head := append([]byte(nil), mp4[:ftypLen]...)
	head = append(head, u32(1)...) // 64-bit size follows
	head = append(head, "mdat"...)
	head = append(head, u64(uint64(mdatSize)+16)...)
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(mp4[ftypLen:], int64(len(head))+mdatSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// HEIC is a HEIF file (ftyp heic) as a phone lays it out: a meta box whose
// iinf lists a primary hvc1 item and an Exif item, an iloc giving their
// extents, and an mdat holding them. The image item's bytes are not a
// decodable HEVC picture: the file is for reading metadata.
func HEIC(t testing.TB, e EXIF) []byte {
	t.Helper()
	ftyp := box("ftyp", []byte("heic"), u32(0), []byte("mif1heic"))
	exif := append(u32(6), "Exif\x00\x00"...)
	exif = append(exif, exifTIFF(e)...)
	image := []byte{0, 0, 0, 1, 0x26, 0x01} // not a picture

	hdlr := append(u32(0), u32(0)...)
	hdlr = append(hdlr, "pict"...)
	hdlr = append(hdlr, make([]byte, 13)...)
	infe := func(id uint16, typ string) []byte {
		p := append(u32(2<<24), u16(id)...)
		p = append(p, u16(0)...)
		p = append(p, typ...)
		return box("infe", append(p, 0))
	}
	iinf := box("iinf", u32(0), u16(2), infe(1, "hvc1"), infe(2, "Exif"))
	iloc := func(imageAt, exifAt uint32) []byte {
		p := append(u32(0), 0x44, 0x00) // offset and length 4 bytes, no base
		p = append(p, u16(2)...)
		for _, it := range []struct {
			id    uint16
			at, n uint32
		}{{1, imageAt, uint32(len(image))}, {2, exifAt, uint32(len(exif))}} {
			p = append(p, u16(it.id)...)
			p = append(p, u16(0)...) // data reference index
			p = append(p, u16(1)...) // one extent
			p = append(p, u32(it.at)...)
			p = append(p, u32(it.n)...)
		}
		return box("iloc", p)
	}
	meta := func(imageAt, exifAt uint32) []byte {
		return box("meta", u32(0), box("hdlr", hdlr), box("pitm", u32(0), u16(1)), iinf, iloc(imageAt, exifAt))
	}
	mdatAt := uint32(len(ftyp) + len(meta(0, 0)))
	imageAt := mdatAt + 8
	exifAt := imageAt + uint32(len(image))
	out := append(ftyp, meta(imageAt, exifAt)...)
	return append(out, box("mdat", image, exif)...)
}

// CR3 is a Canon CR3 as its metadata reader sees it: ftyp "crx ", a moov
// holding Canon's metadata uuid box with CMT1 (IFD0) and CMT2 (the EXIF
// IFD) as TIFF streams, Canon's XMP uuid box, and an mdat. There is no
// raw image.
func CR3(t testing.TB, e EXIF) []byte {
	t.Helper()
	tiff := func(es []entry) []byte {
		return append(tiffHeader(), ifdBytes(8, es, 0)...)
	}
	canon := []byte{0x85, 0xc0, 0xb6, 0x87, 0x82, 0x0f, 0x11, 0xe0, 0x81, 0x11, 0xf4, 0xce, 0x46, 0x2b, 0x6a, 0x48}
	xmpID := []byte{0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8, 0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac}
	ftyp := box("ftyp", []byte("crx "), u32(1), []byte("crx isom"))
	moov := box("moov", box("uuid", canon,
		box("CNCV", []byte("CanonCR3_001/00.09.00/00.00.00")),
		box("CMT1", tiff(ifd0Entries(e))),
		box("CMT2", tiff(exifEntries(e))),
	), mvhd(time.Time{}))
	xmp := box("uuid", xmpID, []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>`))
	out := append(ftyp, moov...)
	out = append(out, xmp...)
	return append(out, box("mdat", make([]byte, 64))...)
}
