package account

import (
	"context"
	"path"
	"strings"

	"github.com/cloudkeep/cloudkeep/media"
)

// The kinds of index rows, as the gallery shows them.
const (
	KindPhoto   = "photo"   // a photo, RAW included: a tile
	KindVideo   = "video"   // a tile, played in the page
	KindOther   = "other"   // any other file the account stored: a plain tile
	KindSidecar = "sidecar" // an edit record (.xmp, .aae): shown with its photo, never a tile
	KindHidden  = "hidden"  // a key with a hidden part (.thumbs/, .cloudkeep/): never shown
)

// objectKind is the kind of the account's key: hidden when a part after
// "<account>/" starts with a dot, else by its extension.
func objectKind(accountID, key string) string {
	rest := strings.TrimPrefix(key, accountID+"/")
	if strings.HasPrefix(rest, ".") || strings.Contains(rest, "/.") {
		return KindHidden
	}
	switch k, _ := media.KindOf(path.Base(rest)); k {
	case media.Photo:
		return KindPhoto
	case media.Video:
		return KindVideo
	case media.Sidecar:
		return KindSidecar
	}
	return KindOther
}

// GalleryFilter narrows an account's gallery. The zero value is every
// photo, video and other file (never sidecars or hidden keys).
type GalleryFilter struct {
	Device string // the device name in the object's metadata; "" = every device
	Kind   string // "", KindPhoto or KindVideo
	// Month is "2024" or "2024-01", Day "2024-01-31": the date on the
	// clock where the photo was taken (the capture text's own offset), so
	// a photo taken at 23:30 in Tokyo is on the day Tokyo saw; a file
	// without a capture time is on its file time's date. "" = any.
	Month, Day string
	// Search is matched, in any ASCII case, against the key after
	// "<account>/" (device, folders and file name); "" = any.
	Search string
}

// GalleryCursor is a position in an account's gallery order: capture
// instant newest first, then key, descending. The zero value is the start.
type GalleryCursor struct {
	CaptureNanos int64
	Key          string // "" = the start of the listing
}

// GalleryFacets is what the gallery's filters offer for an account.
type GalleryFacets struct {
	Devices []string // device names in the index, sorted
	// FirstNanos and LastNanos are the earliest and latest known capture
	// instants (rows without one are left out); both 0 when none.
	FirstNanos, LastNanos int64
}

// GalleryStore is the index as the gallery reads it. Keys are full keys,
// "<account>/…".
type GalleryStore interface {
	// GalleryPage returns up to limit rows of the account that the filter
	// selects (kinds photo, video and other; f.Kind narrows), strictly
	// after cursor: in gallery order (capture_ns DESC, key DESC), or with
	// newer set in the reverse order (capture_ns ASC, key ASC), which
	// reads backwards from cursor (the previous items of an item view).
	GalleryPage(ctx context.Context, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) ([]StoredObject, error)
	// GroupObjects returns the rows of the account, of any kind but
	// hidden, whose group is one of groups (empty groups are ignored).
	GroupObjects(ctx context.Context, accountID string, groups []string) ([]StoredObject, error)
	// LookupObjects returns the rows of the account with the given keys;
	// unknown keys are left out.
	LookupObjects(ctx context.Context, accountID string, keys []string) ([]StoredObject, error)
	// GalleryFacets returns the devices and the span of capture times of
	// the account's rows that are not hidden.
	GalleryFacets(ctx context.Context, accountID string) (GalleryFacets, error)
}

// CaptureNanos is o's instant in the store's order (orderNanos).
func (o StoredObject) CaptureNanos() int64 { return orderNanos(o.Capture, o.MTime) }

// Cursor is the position of o in gallery order.
func (o StoredObject) Cursor() GalleryCursor {
	return GalleryCursor{CaptureNanos: o.CaptureNanos(), Key: o.Key}
}
