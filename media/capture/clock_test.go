package capture

import (
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// An offset no place on Earth uses is not trusted: the time is read as
// having none (time.Local), and what is stored is always RFC 3339.
func TestRead_ImpossibleOffset(t *testing.T) {
	dto := "2024:08:15 10:00:00"
	for _, tc := range []struct{ offset, want string }{
		{"+99:99", "2024-08-15T10:00:00-05:00"},
		{"+24:00", "2024-08-15T10:00:00-05:00"},
		{"-15:30", "2024-08-15T10:00:00-05:00"},
		{"+14:15", "2024-08-15T10:00:00-05:00"},
		{"-12:30", "2024-08-15T10:00:00-05:00"},
		{"+05:20", "2024-08-15T10:00:00-05:00"}, // minutes other than 00, 15, 30, 45
		{"+05:60", "2024-08-15T10:00:00-05:00"},
		{"+9:00", "2024-08-15T10:00:00-05:00"},
		{"09:00", "2024-08-15T10:00:00-05:00"},
		{"+09:00x", "2024-08-15T10:00:00-05:00"},
		{"+14:00", "2024-08-15T10:00:00+14:00"},
		{"-12:00", "2024-08-15T10:00:00-12:00"},
		{"+05:45", "2024-08-15T10:00:00+05:45"},
		{"-09:30", "2024-08-15T10:00:00-09:30"},
		{"+0900", "2024-08-15T10:00:00+09:00"}, // no colon: still an offset
		{"-0330", "2024-08-15T10:00:00-03:30"},
		{"-00:00", "2024-08-15T10:00:00Z"},
	} {
		t.Run(tc.offset, func(t *testing.T) {
			info := readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: tc.offset}))
			got := info.Time.Format(time.RFC3339)
			if got != tc.want || info.Source != wire.CaptureEXIF {
				t.Errorf("got %s from %q, want %s from exif", got, info.Source, tc.want)
			}
			if _, err := time.Parse(time.RFC3339, got); err != nil {
				t.Errorf("%s is not RFC 3339: %v", got, err)
			}
		})
	}
	// A bad OffsetTimeOriginal is as none: OffsetTime, when good, is next.
	info := readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+99:99", OffsetTime: "+02:00"}))
	if got := info.Time.Format(time.RFC3339); got != "2024-08-15T10:00:00+02:00" {
		t.Errorf("bad OffsetTimeOriginal, good OffsetTime: got %s, want 2024-08-15T10:00:00+02:00", got)
	}
	info = readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: dto, OffsetTime: "+25:00"}))
	if got := info.Time.Format(time.RFC3339); got != "2024-08-15T10:00:00-05:00" {
		t.Errorf("bad OffsetTime: got %s, want 2024-08-15T10:00:00-05:00", got)
	}
}

// Impossible dates are skipped, not rolled over into the next day or
// month: the next source is used.
func TestRead_ImpossibleDate(t *testing.T) {
	for _, dto := range []string{
		"2024:02:30 10:00:00", // 30 February
		"2023:02:29 10:00:00", // not a leap year
		"2024:04:31 10:00:00",
		"2024:13:01 10:00:00",
		"2024:00:10 10:00:00",
		"2024:01:00 10:00:00",
		"2024:01:31 25:00:00",
		"2024:01:31 24:00:00",
		"2024:01:31 10:60:00",
		"2024:01:31 10:00:60",
		"2024:01:31 1a:00:00",
		"2024:01:31 -1:00:00",
		"+024:01:31 10:00:00",
	} {
		t.Run(dto, func(t *testing.T) {
			info := readFile(t, "IMG_20230415_101112.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: dto, OffsetTimeOriginal: "+09:00"}))
			if got := info.Time.Format(time.RFC3339); got != "2023-04-15T10:11:12-05:00" || info.Source != wire.CaptureName {
				t.Errorf("got %s from %q, want the name's 2023-04-15T10:11:12-05:00", got, info.Source)
			}
		})
	}
	for _, dto := range []string{"2024:02:29 23:59:59", "2024-02-29 10:00:00", "2023:12:31 00:00:00"} {
		info := readFile(t, "a.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: dto}))
		if info.Source != wire.CaptureEXIF {
			t.Errorf("%s: source %q, want exif", dto, info.Source)
		}
	}
}

// The same rules hold for the dates a video carries.
func TestParseVideoDate_Impossible(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2024-08-15T10:00:00+0900", "2024-08-15T10:00:00+09:00"},
		{"2024-08-15T10:00:00+09:00", "2024-08-15T10:00:00+09:00"},
		{"2024-08-15 10:00:00 -0330", "2024-08-15T10:00:00-03:30"},
		{"2024-08-15T10:00:00Z", "2024-08-15T10:00:00Z"},
		{"2024-08-15T10:00:00", "2024-08-15T10:00:00-05:00"},
		{"2024-08-15T10:00:00.5+01:00", "2024-08-15T10:00:00.5+01:00"},
		{"2024-08-15T10:00:00+9999", "2024-08-15T10:00:00-05:00"},
		{"2024-08-15T10:00:00+2400", "2024-08-15T10:00:00-05:00"},
		{"2024-08-15T10:00:00-1530", "2024-08-15T10:00:00-05:00"},
		{"2024-02-30T10:00:00+0900", ""},
		{"2024-08-15T25:00:00+0900", ""},
		{"2024-08-15T10:61:00+0900", ""},
		{"2024", ""},
		{"", ""},
	} {
		got, ok := parseVideoDate(tc.in)
		if s := got.Format(time.RFC3339Nano); (ok && s != tc.want) || (!ok && tc.want != "") {
			t.Errorf("parseVideoDate(%q) = %s %v, want %q", tc.in, s, ok, tc.want)
		}
	}
}
