package restore

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Item is one stored file.
type Item struct {
	Key    string    `json:"key"`
	Rel    string    `json:"path"`   // the key below the account's prefix, escaped as keys are (keypath)
	Device string    `json:"device"` // the device that uploaded it
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
	ETag   string    `json:"etag"`
	MTime  time.Time `json:"mtime"` // the file's modification time when uploaded
	Stored time.Time `json:"stored"`
	// Capture is when the photo or video was taken, in the zone it was
	// taken in (storage.Meta.When); without capture metadata the
	// modification time, and without that the time it was stored.
	Capture       time.Time `json:"capture_time"`
	CaptureSource string    `json:"capture_source"` // wire.CaptureEXIF, CaptureVideo, CaptureName, CaptureMTime, or SourceStored
	Group         string    `json:"group"`          // the asset it belongs to; empty when not known
	Motion        bool      `json:"motion"`         // a still with an embedded video
	// Target is the local path to restore it to; empty: Options.Dest
	// joined with Rel.
	Target string `json:"-"`
}

// SourceStored is the CaptureSource of an object that carries neither a
// capture time nor a modification time: its Capture is when it was stored.
const SourceStored = "stored"

// ThumbsFolder is where the agent keeps thumbnails below the account's
// prefix ("alice/.thumbs/"): they are not backed-up files.
const ThumbsFolder = ".thumbs/"

// isThumbnail reports whether key lies in a thumbnails folder: its own
// account's, or another's when base does not name one (a static key
// template without {user} lists the whole bucket).
func isThumbnail(key string) bool {
	return strings.HasPrefix(key, ThumbsFolder) || strings.Contains(key, "/"+ThumbsFolder)
}

// List returns the items whose keys start with base+under, sorted by key,
// with Rel below base (the account's prefix, "alice/"); thumbnails and
// manifests are left out.
func List(ctx context.Context, st storage.Storage, base, under string) ([]Item, error) {
	var out []Item
	err := st.List(ctx, base+under, func(o storage.Object) error {
		if !isHidden(o.Key) {
			out = append(out, itemOf(o, base))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// itemOf is the item of a listed object.
func itemOf(o storage.Object, base string) Item {
	it := Item{Key: o.Key, Rel: strings.TrimPrefix(o.Key, base), Size: o.Size, Stored: o.LastModified,
		MTime: o.LastModified, SHA256: o.Meta.SHA256, ETag: o.ETag, Device: o.Meta.Device,
		Capture: o.Meta.When(), CaptureSource: o.Meta.CaptureSource, Group: o.Meta.Group, Motion: o.Meta.Motion}
	if !o.Meta.MTime.IsZero() {
		it.MTime = o.Meta.MTime
	}
	switch {
	case o.Meta.Capture.IsZero() && o.Meta.MTime.IsZero():
		it.Capture, it.CaptureSource = o.LastModified, SourceStored
	case o.Meta.Capture.IsZero():
		it.CaptureSource = wire.CaptureMTime
	}
	return it
}

// Filter selects items.
type Filter struct {
	Device string    // only this device's files
	Since  time.Time // only files taken at or after this instant
	Until  time.Time // only files taken before this instant; zero: no end
}

// Day returns the instants that make date (YYYY-MM-DD) a whole local day
// for a Filter: its first instant, and the first instant of the next day.
func Day(date string) (from, next time.Time, err error) {
	from, err = time.ParseInLocation(time.DateOnly, date, time.Local)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return from, from.AddDate(0, 0, 1), nil
}

// Match reports whether f selects it, by its capture time as an instant.
func (f Filter) Match(it Item) bool {
	switch {
	case f.Device != "" && it.Device != f.Device:
		return false
	case !f.Since.IsZero() && it.Capture.Before(f.Since):
		return false
	case !f.Until.IsZero() && !it.Capture.Before(f.Until):
		return false
	}
	return true
}

// Select returns the items f selects, in their order.
func (f Filter) Select(items []Item) []Item {
	var out []Item
	for _, it := range items {
		if f.Match(it) {
			out = append(out, it)
		}
	}
	return out
}
