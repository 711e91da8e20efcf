package account

import (
	"context"
	"math"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// StoredObject is one object of an account's index: what the storage gate
// saw completed under the account's prefix.
type StoredObject struct {
	AccountID string
	Key       string
	Size      int64
	ETag      string
	SHA256    string // hex, from the object's metadata; empty when not known
	MTime     string // the file's modification time from the metadata, RFC 3339
	Device    string
	// Capture is when the photo or video was taken, RFC 3339 with the
	// offset it was taken at (wire.Meta.CaptureTime); empty when not known.
	// The store also keeps it as a UTC instant (captureNanos), indexed
	// with the account, so that photos can be listed by when they were
	// taken.
	Capture       string
	CaptureSource string    // wire.CaptureEXIF, CaptureVideo, CaptureName or CaptureMTime
	Group         string    // 16 hex digits: the asset the file belongs to
	Motion        bool      // a still with an embedded video
	Updated       time.Time // when the index learnt of this version
	// Kind is what the gallery makes of the key (objectKind): KindPhoto,
	// KindVideo, KindSidecar, KindOther or KindHidden. The store computes
	// it from the key when it writes the row.
	Kind string
}

// storedObject is the index row of the account's object o.
func storedObject(accountID string, o wire.Object, now time.Time) StoredObject {
	row := StoredObject{AccountID: accountID, Key: o.Key, Size: o.Size, ETag: o.ETag, Updated: now}
	return row.withMeta(o.Meta)
}

// Meta is the metadata the row holds, as the gate lists it.
func (o StoredObject) Meta() wire.Meta {
	return wire.Meta{SHA256: o.SHA256, MTime: o.MTime, Device: o.Device,
		CaptureTime: o.Capture, CaptureSource: o.CaptureSource, Group: o.Group, Motion: o.Motion}
}

// withMeta is o with the metadata m (its content type is not indexed).
func (o StoredObject) withMeta(m wire.Meta) StoredObject {
	o.SHA256, o.MTime, o.Device = m.SHA256, m.MTime, m.Device
	o.Capture, o.CaptureSource, o.Group, o.Motion = m.CaptureTime, m.CaptureSource, m.Group, m.Motion
	return o
}

// captureNanos is the capture column's UTC instant in Unix nanoseconds,
// the order of a listing by capture time: 0 when capture is empty or not
// RFC 3339, clamped to the years 1678 to 2262 that the column can hold.
func captureNanos(capture string) int64 {
	if capture == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, capture)
	switch {
	case err != nil:
		return 0
	case t.Before(minCapture):
		return math.MinInt64
	case t.After(maxCapture):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// orderNanos is the instant a row sorts by in the gallery (its capture_ns
// column): when it was taken, else the file's time, so that a file
// without a capture time sorts, and is found by a date filter, with the
// day the file was written rather than below everything. 0 when neither
// is RFC 3339.
func orderNanos(capture, mtime string) int64 {
	if _, err := time.Parse(time.RFC3339Nano, capture); err == nil {
		return captureNanos(capture)
	}
	return captureNanos(mtime)
}

// The instants Unix nanoseconds in an int64 can hold.
var (
	minCapture = time.Unix(0, math.MinInt64)
	maxCapture = time.Unix(0, math.MaxInt64)
)

// Usage is an account's storage use.
type Usage struct {
	Used     int64 // bytes of completed objects
	Objects  int64 // how many
	Reserved int64 // bytes granted to uploads not completed yet
	Quota    int64 // bytes allowed; 0 = no limit
}

// Reservation holds quota space for an upload until it completes, is
// aborted, or expires. ID is "put:<key>\n<size>" for a single PUT and
// "upload:<upload id>" for a multipart upload.
type Reservation struct {
	ID      string
	Key     string
	Size    int64
	Expires time.Time
	// Grant is what a put grant signed (checksum and metadata), which the
	// storage holds an object of this key and size to; nil when unknown.
	Grant *wire.Object
}

// ObjectStore keeps the per-account object index, usage, quotas and
// reservations. Every method is safe for concurrent use by several service
// replicas sharing one database.
type ObjectStore interface {
	// Reserve records every reservation, or none: it reports false when
	// used + live reservations + expired puts not settled yet + rs would
	// exceed the account's quota (its own, else defaultQuota; 0 = none).
	// Reservations with the same ID replace each other rather than add
	// up. The decision is taken in one statement, so parallel calls never
	// reserve past the quota.
	Reserve(ctx context.Context, accountID string, rs []Reservation, defaultQuota int64, now time.Time) (bool, error)
	// RenameReservation gives a reservation a new ID and expiry.
	RenameReservation(ctx context.Context, accountID, from, to string, expires time.Time) error
	// ReservedSize returns the size reservation id holds for key, or -1
	// when there is none for that key.
	ReservedSize(ctx context.Context, accountID, id, key string) (int64, error)
	// GrantPart records that part (size bytes) of the upload of key may
	// be sent, and reports false when the upload has no live reservation
	// for key or its parts would then add up to more than it reserved.
	// Check and record are one statement: parallel grants never exceed it.
	GrantPart(ctx context.Context, accountID, uploadID, key string, part int, size int64, now time.Time) (bool, error)
	// ExpiredPuts returns up to limit "put:" reservations of the account
	// that expired by now: grants over, their objects not counted yet.
	// Unlike other reservations, they stay, and count against the quota,
	// until released.
	ExpiredPuts(ctx context.Context, accountID string, now time.Time, limit int) ([]Reservation, error)
	// Reservations returns the reservations of the account with the given
	// IDs, expired or not; unknown IDs are left out.
	Reservations(ctx context.Context, accountID string, ids []string) ([]Reservation, error)
	// Release drops a reservation; an unknown one is not an error.
	Release(ctx context.Context, accountID, id string) error
	// PutObject records a completed object (insert or replace by key) and
	// drops the reservation release, in one transaction.
	PutObject(ctx context.Context, o StoredObject, release string) error
	// PutObjects records completed objects of one account and drops the
	// reservations release, all in one transaction.
	PutObjects(ctx context.Context, accountID string, objs []StoredObject, release []string) error
	// ForgetObject drops key from the account's index (and its usage): the
	// storage no longer holds it. An unknown key is not an error.
	ForgetObject(ctx context.Context, accountID, key string) error
	// ReplaceObjects makes objs the account's whole index (a recount).
	ReplaceObjects(ctx context.Context, accountID string, objs []StoredObject) error
	// IndexedObjects returns index rows of the account with from <= key <= to.
	IndexedObjects(ctx context.Context, accountID, from, to string) ([]StoredObject, error)
	// Usage returns the account's usage; live reservations at now, and
	// expired puts not settled yet, count as reserved.
	Usage(ctx context.Context, accountID string, defaultQuota int64, now time.Time) (Usage, error)
	// SetQuota sets one account's quota in bytes (0 = no limit).
	SetQuota(ctx context.Context, accountID string, quota int64) error
	// AccountIDs lists every account and every account the index knows.
	AccountIDs(ctx context.Context) ([]string, error)

	GalleryStore
}
