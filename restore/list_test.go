package restore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

// listing is a storage that only lists, from a slice in key order.
type listing struct {
	storage.Storage
	objs []storage.Object
}

func (l listing) List(_ context.Context, prefix string, fn func(storage.Object) error) error {
	for _, o := range l.objs {
		if len(o.Key) >= len(prefix) && o.Key[:len(prefix)] == prefix {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// Items carry the capture time (else the modification time, else the
// time stored) with where it came from, the group and the motion mark;
// thumbnails are not files.
func TestList(t *testing.T) {
	tokyo := time.FixedZone("", 9*3600)
	taken := time.Date(2024, 1, 31, 14, 5, 0, 0, tokyo)
	mtime := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	stored := time.Date(2024, 4, 1, 8, 0, 0, 0, time.UTC)
	st := listing{objs: []storage.Object{
		{Key: "alice/.thumbs/0123.jpg", LastModified: stored},
		{Key: "alice/laptop/pictures/IMG_0001.HEIC", Size: 10, LastModified: stored,
			Meta: storage.Meta{MTime: mtime, Device: "laptop", Capture: taken, CaptureSource: "exif", Group: "00112233aabbccdd"}},
		{Key: "alice/laptop/pictures/PXL_1.MP.jpg", LastModified: stored,
			Meta: storage.Meta{MTime: mtime, Capture: taken, CaptureSource: "exif", Motion: true}},
		{Key: "alice/laptop/pictures/old.jpg", LastModified: stored, Meta: storage.Meta{MTime: mtime}},
		{Key: "alice/laptop/pictures/stranger.jpg", LastModified: stored},
		{Key: "alice/laptop/pictures/sub/.thumbs/kept.jpg", LastModified: stored},
	}}
	items, err := restore.List(context.Background(), st, "alice/", "")
	if err != nil {
		t.Fatal(err)
	}
	// A template without {user} lists the whole bucket: no account's
	// thumbnails are files either.
	if all, err := restore.List(context.Background(), st, "", ""); err != nil || len(all) != len(items) {
		t.Errorf("listing the whole bucket: %d items (%v), want the %d files", len(all), err, len(items))
	}
	type row struct {
		rel, source, group string
		capture            time.Time
		motion             bool
	}
	var got []row
	for _, it := range items {
		got = append(got, row{it.Rel, it.CaptureSource, it.Group, it.Capture, it.Motion})
	}
	want := []row{
		{"laptop/pictures/IMG_0001.HEIC", "exif", "00112233aabbccdd", taken, false},
		{"laptop/pictures/PXL_1.MP.jpg", "exif", "", taken, true},
		{"laptop/pictures/old.jpg", "mtime", "", mtime, false},
		{"laptop/pictures/stranger.jpg", "stored", "", stored, false},
	}
	if !slices.EqualFunc(got, want, func(a, b row) bool {
		return a.rel == b.rel && a.source == b.source && a.group == b.group && a.capture.Equal(b.capture) && a.motion == b.motion
	}) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if items[0].Capture.Format(time.RFC3339) != "2024-01-31T14:05:00+09:00" {
		t.Errorf("capture %s, want it in the zone it was taken in", items[0].Capture.Format(time.RFC3339))
	}
	if thumbs, _ := restore.List(context.Background(), st, "alice/", ".thumbs/"); len(thumbs) != 0 {
		t.Errorf("listing .thumbs/ itself: got %+v, want nothing", thumbs)
	}
}

// --since and --until are whole local days; a capture time with an offset
// is compared as the instant it is.
func TestFilter_Match(t *testing.T) {
	old := time.Local
	time.Local = time.FixedZone("here", 1*3600)
	t.Cleanup(func() { time.Local = old })
	since, _, err := restore.Day("2024-01-01")
	if err != nil {
		t.Fatal(err)
	}
	_, until, _ := restore.Day("2024-01-31")
	f := restore.Filter{Since: since, Until: until}
	tokyo := time.FixedZone("", 9*3600)
	for _, tc := range []struct {
		name    string
		capture time.Time
		want    bool
	}{
		{"first instant of the first day", time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local), true},
		{"just before", time.Date(2023, 12, 31, 23, 59, 59, 0, time.Local), false},
		{"last second of the last day", time.Date(2024, 1, 31, 23, 59, 59, 0, time.Local), true},
		{"the day after", time.Date(2024, 2, 1, 0, 0, 0, 0, time.Local), false},
		{"February 1 in Tokyo is January 31 here", time.Date(2024, 2, 1, 7, 59, 0, 0, tokyo), true},
		{"February 1 in Tokyo, after midnight here", time.Date(2024, 2, 1, 8, 0, 0, 0, tokyo), false},
		{"December 31 in UTC is January 1 here", time.Date(2023, 12, 31, 23, 30, 0, 0, time.UTC), true},
	} {
		if got := f.Match(restore.Item{Capture: tc.capture}); got != tc.want {
			t.Errorf("%s (%s): got %v, want %v", tc.name, tc.capture.Format(time.RFC3339), got, tc.want)
		}
	}
	if (restore.Filter{Device: "phone"}).Match(restore.Item{Device: "laptop"}) {
		t.Errorf("--device phone selected the laptop's file")
	}
	if _, _, err := restore.Day("2024-02-30"); err == nil {
		t.Errorf("2024-02-30: got no error")
	}
}
