package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/abema/go-mp4"
	"github.com/cloudkeep/cloudkeep/account/wire"
)

// QuickTime metadata keys an iPhone writes.
const (
	keyCreationDate = "com.apple.quicktime.creationdate"
	keyContentID    = "com.apple.quicktime.content.identifier"
)

// maxItem bounds the metadata strings read.
const maxItem = 4 << 10

// errMoovDone stops the walk once moov has been read.
var errMoovDone = errors.New("moov read")

// videoMeta is what a movie's moov box says.
type videoMeta struct {
	created time.Time // mvhd, UTC; zero when unset
	keys    []string  // QuickTime mdta keys, by index - 1
	items   map[int]string
	day     string // ©day
}

// readVideo reads an MP4, MOV, M4V or 3GP's capture time: the QuickTime
// creationdate (with its offset), else ©day, else mvhd's creation time
// (UTC, shown in time.Local). Only moov is read; mdat is skipped by a seek,
// wherever moov is.
func readVideo(f *counter, size int64) Info {
	v := videoMeta{items: map[int]string{}}
	safely(func() bool {
		_, err := mp4.ReadBoxStructure(io.NewSectionReader(f, 0, size), v.handle)
		return err == nil || err == errMoovDone
	})
	var info Info
	if id := v.item(keyContentID); id != "" {
		info.ContentID = id
	}
	for _, s := range []string{v.item(keyCreationDate), v.day} {
		if t, ok := parseVideoDate(s); ok {
			info.Time, info.Source = t, wire.CaptureVideo
			return info
		}
	}
	if plausible(v.created, 1971) {
		info.Time, info.Source = v.created.In(time.Local), wire.CaptureVideo
	}
	return info
}

// handle visits one box of the walk.
func (v *videoMeta) handle(h *mp4.ReadHandle) (any, error) {
	path := pathOf(h.Path)
	switch {
	case path == "moov":
		_, err := h.Expand()
		if err != nil {
			return nil, err
		}
		return nil, errMoovDone
	case path == "moov/meta", path == "moov/udta", path == "moov/udta/meta",
		path == "moov/meta/ilst", path == "moov/udta/meta/ilst", path == "moov/udta/meta/ilst/\xa9day":
		return h.Expand()
	case path == "moov/mvhd":
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		if m, ok := box.(*mp4.Mvhd); ok {
			if s := m.GetCreationTime(); s != 0 && s < 1<<40 {
				v.created = time.Unix(int64(s)-2082844800, 0).UTC()
			}
		}
	case path == "moov/meta/keys":
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		if k, ok := box.(*mp4.Keys); ok {
			for _, e := range k.Entries {
				v.keys = append(v.keys, string(e.KeyValue))
			}
		}
	case strings.HasPrefix(path, "moov/meta/ilst/"):
		if h.BoxInfo.Size > maxItem || !h.BoxInfo.IsSupportedType() {
			return nil, nil
		}
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		if it, ok := box.(*mp4.Item); ok {
			v.items[int(binary.BigEndian.Uint32(h.BoxInfo.Type[:]))] = string(it.Data.Data)
		}
	case path == "moov/udta/meta/ilst/\xa9day/data":
		box, _, err := h.ReadPayload()
		if err != nil {
			return nil, err
		}
		if d, ok := box.(*mp4.Data); ok && v.day == "" {
			v.day = string(d.Data)
		}
	case path == "moov/udta/\xa9day":
		// A QuickTime user data string: 16-bit length, 16-bit language.
		if h.BoxInfo.Size > maxItem {
			return nil, nil
		}
		var buf bytes.Buffer
		if _, err := h.ReadData(&buf); err != nil {
			return nil, err
		}
		if b := buf.Bytes(); len(b) >= 4 && v.day == "" {
			n := min(int(binary.BigEndian.Uint16(b)), len(b)-4)
			v.day = string(b[4 : 4+n])
		}
	}
	return nil, nil
}

// item is the QuickTime metadata value of key; empty when absent.
func (v *videoMeta) item(key string) string {
	for i, k := range v.keys {
		if k == key {
			return strings.TrimSpace(v.items[i+1])
		}
	}
	return ""
}

// pathOf joins a box path with slashes: "moov/meta/keys".
func pathOf(p mp4.BoxPath) string {
	var sb strings.Builder
	for i, t := range p {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.Write(t[:])
	}
	return sb.String()
}

// videoDate matches the forms of QuickTime creationdate and ©day that carry
// a time of day, "2024-01-31T14:05:00+0900" and the like, with or without
// fractions and an offset; a bare date or year is too coarse to beat mvhd.
var videoDate = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})? ?(Z|[+-]\d{2}:?\d{2})?$`)

// parseVideoDate reads a creationdate or ©day string, keeping its offset;
// without one, or with one no place uses, the wall clock is read in
// time.Local. A date that does not exist is none.
func parseVideoDate(s string) (time.Time, bool) {
	m := videoDate.FindStringSubmatch(strings.TrimRight(strings.TrimSpace(s), "\x00"))
	if m == nil {
		return time.Time{}, false
	}
	loc := time.Local
	if m[8] == "Z" {
		loc = time.UTC
	} else if l, ok := parseOffset(m[8]); ok {
		loc = l
	}
	var n [6]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	t, ok := civil(n[0], n[1], n[2], n[3], n[4], n[5], loc)
	if !ok || !plausible(t, 1971) {
		return time.Time{}, false
	}
	if m[7] != "" {
		t = t.Add(subsecond(m[7][1:]))
	}
	return t, true
}
