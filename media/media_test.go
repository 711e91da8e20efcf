package media_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/cloudkeep/cloudkeep/media"
)

func jpegBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// MP4 starts with an ftyp box.
var mp4 = append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 64)...)

// transportStream is the start of an MPEG-TS file: a 0x47 sync byte every
// packetSize bytes, after offset bytes (4 for AVCHD's timestamped packets).
func transportStream(offset, packetSize int) []byte {
	b := make([]byte, 64*packetSize)
	for i := offset; i < len(b); i += packetSize {
		b[i], b[i+1], b[i+3] = 0x47, 0x40, 0x10
	}
	return b
}

func TestFilter_Classify(t *testing.T) {
	all := &media.Filter{Kinds: []media.Kind{media.Photo, media.Video}}
	for _, tc := range []struct {
		name    string
		content []byte
		kind    media.Kind
		ok      bool
	}{
		{"IMG_1.jpg", jpegBytes(t), media.Photo, true},
		{"IMG_1.JPEG", jpegBytes(t), media.Photo, true},
		{"shot.png", pngBytes(t), media.Photo, true},
		{"IMG_2.jpg", []byte("this is a text file, not a photo\n"), media.Photo, false},
		{"IMG_3.jpg", []byte("PK\x03\x04zip archive"), media.Photo, false},
		{"clip.mp4", mp4, media.Video, true},
		{"clip", mp4, media.Video, true},
		{"photo", jpegBytes(t), media.Photo, true},
		{"notes", []byte("plain text"), "", false},
		{"raw.cr2", append([]byte{0x49, 0x49, 0x2a, 0x00, 0x10, 0, 0, 0, 'C', 'R'}, make([]byte, 32)...), media.Photo, true},
		{"raw.raf", append([]byte("FUJIFILMCCD-RAW 0201"), make([]byte, 64)...), media.Photo, true},
		{"empty.jpg", nil, media.Photo, false}, // nothing to keep
		{"song.mp3", []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), media.Music, false},
		{"edit.xmp", []byte("<x:xmpmeta/>"), media.Sidecar, false},
		{"00001.MTS", transportStream(4, 192), media.Video, true},
		{"00002.m2ts", transportStream(4, 192), media.Video, true},
		{"rec.ts", transportStream(0, 188), media.Video, true},
		{"app.ts", []byte("export const x: number = 1;\n"), media.Video, false},
		{"bad.mts", append([]byte{0x47}, make([]byte, 400)...), media.Video, false},
		{"old.mpg", append([]byte{0, 0, 1, 0xba, 0x44}, make([]byte, 64)...), media.Video, true},
		{"old.wmv", append([]byte{0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c}, make([]byte, 64)...), media.Video, true},
		{"old.flv", append([]byte("FLV\x01\x05\x00\x00\x00\x09"), make([]byte, 64)...), media.Video, true},
	} {
		kind, ok := all.Classify(tc.name, bytes.NewReader(tc.content))
		if kind != tc.kind || ok != tc.ok {
			t.Errorf("Classify(%q): got %q %v, want %q %v", tc.name, kind, ok, tc.kind, tc.ok)
		}
	}
	withSidecars := &media.Filter{Kinds: []media.Kind{media.Photo, media.Sidecar}}
	if _, ok := withSidecars.Classify("edit.xmp", bytes.NewReader([]byte("<x:xmpmeta/>"))); !ok {
		t.Error("sidecar not kept when media.kinds has sidecar")
	}
}

func TestFilter_Match(t *testing.T) {
	f := &media.Filter{Include: []string{"DCIM/**", "*.heic"}, Exclude: []string{"**/cache/**", "*_thumb.jpg"}}
	for rel, want := range map[string]bool{
		"DCIM/100/IMG_1.jpg":       true,
		"DCIM/100/cache/IMG_1.jpg": false,
		"Other/IMG_2.heic":         true,
		"Other/IMG_2.jpg":          false,
		"DCIM/a_thumb.jpg":         false,
	} {
		if got := f.Match(rel); got != want {
			t.Errorf("Match(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestFilter_Globs(t *testing.T) {
	f := &media.Filter{Include: []string{"notes/*.txt", "DCIM/**"}, Exclude: []string{"DCIM/**/cache/**"}}
	for _, tc := range []struct {
		rel  string
		want media.Verdict
		rule string
	}{
		{"notes/todo.txt", media.Included, "notes/*.txt"},
		{"DCIM/100/IMG_1.jpg", media.Included, "DCIM/**"},
		{"DCIM/100/cache/IMG_1.jpg", media.Excluded, "DCIM/**/cache/**"},
		{"other.txt", media.NotIncluded, ""},
	} {
		if v, rule := f.Globs(tc.rel); v != tc.want || rule != tc.rule {
			t.Errorf("Globs(%q): got %v %q, want %v %q", tc.rel, v, rule, tc.want, tc.rule)
		}
	}
	if v, _ := (&media.Filter{}).Globs("a.jpg"); v != media.ByKind {
		t.Errorf("Globs without globs: got %v, want ByKind", v)
	}
}

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"IMG_1.jpg": false, ".thumbnails": true, ".trashed-1700000000-IMG.jpg": true,
		".pending-1700-VID.mp4": true, "video.mp4.part": true, "x.crdownload": true,
		"~lock.jpg": true, "a.tmp": true, ".hidden.jpg": true,
		"IMG_1.jpg.cloudkeep-part": true, "clip.MOV.CLOUDKEEP-PART": true,
	} {
		if got := media.Ignored(name); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", name, got, want)
		}
	}
}

// Each preset leaves out the folders and names its apps and systems use,
// in any case, and keeps the camera's photos; ExcludedBy names the preset.
func TestFilter_Presets(t *testing.T) {
	f := &media.Filter{Presets: media.Presets()}
	for _, tc := range []struct {
		rel    string
		preset string // "": kept
	}{
		// Camera rolls: kept.
		{"DCIM/Camera/IMG_20240131_101112.jpg", ""},
		{"DCIM/Camera/PXL_20240131_101112345.MP.jpg", ""},
		{"DCIM/Camera/VID_20240131_101112.mp4", ""},
		{"DCIM/100APPLE/IMG_0001.HEIC", ""},
		{"Pictures/Holiday/DSC_0001.NEF", ""},
		{"Pictures/screen-printing workshop.jpg", ""},
		{"Pictures/photo_of_mum.jpg", ""},
		{"Pictures/Download stats/chart.png", ""},
		// Screenshots and screen recordings.
		{"Pictures/Screenshots/Screenshot_20240131-101112.png", "screenshots"},
		{"DCIM/Screenshots/Screenshot_20240131-101112_Chrome.jpg", "screenshots"},
		{"DCIM/Screen recordings/Screen_Recording_20240131-101112_YouTube.mp4", "screenshots"},
		{"Movies/screen-20240131-101112.mp4", "screenshots"},
		{"Desktop/Screenshot 2024-01-31 at 10.11.12.png", "screenshots"},
		{"Desktop/Screen Shot 2020-01-31 at 10.11.12.png", "screenshots"},
		{"Desktop/Screen Recording 2024-01-31 at 10.11.12.mov", "screenshots"},
		{"Pictures/Screenshot from 2024-01-31 10-11-12.png", "screenshots"},
		{"Pictures/Screenshot_20240131_101112.png", "screenshots"},
		{"Videos/Screencasts/Screencast from 2024-01-31 10-11-12.webm", "screenshots"},
		{"screenshots/Screenshot (1).png", "screenshots"},
		// WhatsApp, before and since Android 11, and WhatsApp Business.
		{"WhatsApp/Media/WhatsApp Images/IMG-20240131-WA0001.jpg", "whatsapp"},
		{"WhatsApp/Media/WhatsApp Video/Sent/VID-20240131-WA0002.mp4", "whatsapp"},
		{"Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/IMG-20240131-WA0003.jpg", "whatsapp"},
		{"Android/media/com.whatsapp.w4b/WhatsApp Business/Media/WhatsApp Business Images/IMG-20240131-WA0004.jpg", "whatsapp"},
		{"DCIM/Restored/IMG-20240131-WA0005.jpg", "whatsapp"},
		{"Downloads/WhatsApp Image 2024-01-31 at 10.11.12.jpeg", "whatsapp"},
		// Telegram.
		{"Telegram/Telegram Images/123456789_121212.jpg", "telegram"},
		{"Android/media/org.telegram.messenger/Telegram/Telegram Video/4_5922.mp4", "telegram"},
		{"Pictures/Telegram/IMG_20240131_101112_123.jpg", "telegram"},
		{"Telegram Desktop/photo_2024-01-31_10-11-12.jpg", "telegram"},
		{"Pictures/photo_2024-01-31_10-11-12.jpg", "telegram"},
		// Downloads.
		{"Download/IMG_1234.jpg", "downloads"},
		{"Downloads/holiday.jpg", "downloads"},
		{"Users/me/downloads/x.mp4", "downloads"},
	} {
		v, rule := f.Globs(tc.rel)
		switch {
		case tc.preset == "" && v != media.ByKind:
			t.Errorf("Globs(%q): got %v %q, want it kept", tc.rel, v, rule)
		case tc.preset != "" && (v != media.Excluded || media.ExcludedBy(rule) != "excluded by preset "+tc.preset):
			t.Errorf("Globs(%q): got %v %q (%s), want excluded by preset %s", tc.rel, v, rule, media.ExcludedBy(rule), tc.preset)
		}
	}
}

// A preset is off until named; the user's own exclude is named as before
// and wins over a preset, and a preset wins over an include.
func TestFilter_PresetsChosen(t *testing.T) {
	const rel = "WhatsApp/Media/WhatsApp Images/IMG-20240131-WA0001.jpg"
	if v, _ := (&media.Filter{Presets: []string{"screenshots"}}).Globs(rel); v != media.ByKind {
		t.Errorf("screenshots preset alone: got %v for a WhatsApp image, want ByKind", v)
	}
	f := &media.Filter{Presets: []string{"whatsapp"}, Include: []string{"WhatsApp/**"}}
	if v, rule := f.Globs(rel); v != media.Excluded || media.ExcludedBy(rule) != "excluded by preset whatsapp" {
		t.Errorf("preset and include: got %v %q, want excluded by preset whatsapp", v, rule)
	}
	f.Exclude = []string{"*.jpg"}
	if v, rule := f.Globs(rel); v != media.Excluded || media.ExcludedBy(rule) != `excluded by rule "*.jpg"` {
		t.Errorf("user exclude: got %v %s, want excluded by rule \"*.jpg\"", v, media.ExcludedBy(rule))
	}
	for _, name := range media.Presets() {
		for _, g := range media.PresetGlobs(name) {
			if !doublestar.ValidatePattern(g) || g != strings.ToLower(g) {
				t.Errorf("preset %s: glob %q is not a valid lower-case pattern", name, g)
			}
		}
	}
}
