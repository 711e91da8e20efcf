// Package storage is everything the device does with its bucket, behind one
// small interface: whole-object PUTs, resumable multipart uploads, reads
// with a byte range, listings and server-side copies.
//
// Two implementations exist: Direct signs requests itself with static keys
// (minio-go), Granted asks the account service for each request (presigned
// URLs, or the result of a call the service made itself) with the device's
// access token. Retry wraps either one, once, with backoff and renewal of
// expired grants, for every call.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Storage is the device's bucket. Keys are full object keys. Every method
// is safe for concurrent use.
//
// Errors: ErrNotFound and ErrNoSuchUpload (wrapped) say what is missing;
// *QuotaError says the account is full; auth.ErrSignedOut (wrapped) says
// the device must sign in again; ErrExpired says a grant or credential ran
// out and asking again will help. IsPermanent tells which errors retrying
// cannot fix.
type Storage interface {
	// Put stores size bytes of body under key in one request. crc32c is the
	// base64 CRC32C of the bytes: the server refuses a body that does not
	// match it. body is read from its start; a retry seeks it back there.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error)
	// PutNew is Put that stores the object only while key holds none
	// (If-None-Match: *): ErrExists when another writer stored one first,
	// checked by the server at the moment it would store this one.
	PutNew(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error)

	// Create begins a multipart upload of an object of size bytes whose
	// parts carry CRC32C checksums and whose completion is checked against
	// the full-object CRC32C. It returns the upload id.
	Create(ctx context.Context, key string, size int64, meta Meta) (string, error)
	// PutPart uploads part number (1 to 10,000) of an upload, checked
	// against crc32c like Put. The returned Part holds its ETag.
	PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (Part, error)
	// ListParts returns the parts the server holds, by number. A part's
	// CRC32C is empty when the server does not report it.
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	// Complete joins parts (in order, each with Size, ETag and CRC32C) into
	// the object; the server checks the full-object CRC32C computed from
	// them.
	Complete(ctx context.Context, key, uploadID string, parts []Part) (Object, error)
	// CompleteNew is Complete that joins the parts only while key holds no
	// object: ErrExists when another writer stored one first; the upload
	// is then left in place, to be aborted.
	CompleteNew(ctx context.Context, key, uploadID string, parts []Part) (Object, error)
	// Abort cancels an upload. An upload that is already gone is not an
	// error.
	Abort(ctx context.Context, key, uploadID string) error
	// ListUploads returns the incomplete uploads whose keys start with
	// prefix.
	ListUploads(ctx context.Context, prefix string) ([]Upload, error)

	// Stat returns the object's size, ETag, checksum and metadata;
	// ErrNotFound when there is none.
	Stat(ctx context.Context, key string) (Object, error)
	// Get reads the object from byte offset to its end; ErrNotFound when
	// there is none. The caller closes the reader.
	Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	// List calls fn with every object whose key starts with prefix, in key
	// order, with its metadata. An error from fn ends the listing.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// ListFolder returns the keys and sizes (no metadata) of the objects
	// directly in the folder prefix (which ends with "/"), when there are
	// at most limit objects under it; complete is false, with no objects,
	// when there may be more. It costs one request, or a few.
	ListFolder(ctx context.Context, prefix string, limit int) (objs []Object, complete bool, err error)
	// Copy stores a copy of src (only while src has the ETag srcETag, when
	// it is not empty) under dst with meta, on the server: no bytes travel
	// through the device. dst may equal src (a metadata update).
	// ErrNotFound when src is gone or changed.
	Copy(ctx context.Context, dst, src, srcETag string, meta Meta) (Object, error)
}

// KeyLister is a Storage that lists keys, sizes and ETags without
// metadata: one request per thousand objects on every server, where List
// asks the servers that list no metadata (all but MinIO) for each
// object's. Verify uses it, and Stats only the objects it must.
type KeyLister interface {
	ListKeys(ctx context.Context, prefix string, fn func(Object) error) error
}

// errFolderFull ends a listing for ListFolder at its limit.
var errFolderFull = errors.New("more objects than asked for")

// listFolder is ListFolder made of a List: objects in subfolders count
// toward the limit, as the listing holds them.
func listFolder(ctx context.Context, list func(context.Context, string, func(Object) error) error, prefix string, limit int) ([]Object, bool, error) {
	var out []Object
	seen := 0
	err := list(ctx, prefix, func(o Object) error {
		if seen++; seen > limit {
			return errFolderFull
		}
		if !strings.Contains(strings.TrimPrefix(o.Key, prefix), "/") {
			out = append(out, o)
		}
		return nil
	})
	if errors.Is(err, errFolderFull) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Meta is what cloudkeep stores with an object.
type Meta struct {
	SHA256      string    // hex SHA-256 of the whole file; empty when not yet known
	MTime       time.Time // the file's modification time
	Device      string    // the device that uploaded it
	ContentType string

	Capture       time.Time // when the photo or video was taken, in the zone it was taken in; zero when unknown
	CaptureSource string    // wire.CaptureEXIF, CaptureVideo, CaptureName or CaptureMTime
	Group         string    // the asset the file belongs to: 16 hex digits
	Motion        bool      // a still with an embedded video, kept whole
}

// When is the capture time, or the modification time when it is not known.
func (m Meta) When() time.Time {
	if !m.Capture.IsZero() {
		return m.Capture
	}
	return m.MTime
}

// Object is a stored object.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	CRC32C       string // the full-object CRC32C (base64) when FullObject
	FullObject   bool   // CRC32C covers the whole object (not a checksum of part checksums)
	Meta         Meta
}

// Part is one part of a multipart upload.
type Part struct {
	Number int
	Size   int64
	ETag   string
	CRC32C string // base64
}

// Upload is an incomplete multipart upload.
type Upload struct {
	Key, UploadID string
	Started       time.Time
}

var (
	// ErrNotFound means there is no such object.
	ErrNotFound = errors.New("no such object")
	// ErrNoSuchUpload means the multipart upload is unknown: completed,
	// aborted, or expired on the server.
	ErrNoSuchUpload = errors.New("no such multipart upload")
	// ErrExists means a write meant for a free key (PutNew, CompleteNew)
	// found an object there: another writer took the key first.
	ErrExists = errors.New("another object took the key first")
	// ErrExpired means a grant or a credential ran out before the request
	// reached the storage; asking again helps.
	ErrExpired = errors.New("storage grant expired")
)

// QuotaError means the account has no room for what was asked.
type QuotaError struct {
	Used, Quota int64 // bytes
}

func (e *QuotaError) Error() string {
	unit, name := float64(1<<30), "GiB"
	if e.Quota < 1<<30 {
		unit, name = 1<<20, "MiB"
	}
	return fmt.Sprintf("storage quota reached (%s of %s %s)", decimal(float64(e.Used)/unit), decimal(float64(e.Quota)/unit), name)
}

// decimal writes x with one decimal, e.g. "48.9"; a whole number loses
// its ".0".
func decimal(x float64) string {
	s := strconv.FormatFloat(x, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// IsQuota reports whether err is a refusal for lack of space, and returns it.
func IsQuota(err error) (*QuotaError, bool) {
	var q *QuotaError
	return q, errors.As(err, &q)
}

// PermanentError is a storage error that trying again will not fix: access
// denied, a missing bucket, a malformed request.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether trying err's operation again cannot help: a
// *PermanentError, ErrNotFound, ErrNoSuchUpload, ErrExists, a *QuotaError, an error
// that says so with a Permanent() bool method (auth.ErrSignedOut), or the
// end of the context.
func IsPermanent(err error) bool {
	var p *PermanentError
	var marked interface{ Permanent() bool }
	var q *QuotaError
	return errors.As(err, &p) || errors.As(err, &q) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoSuchUpload) || errors.Is(err, ErrExists) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &marked) && marked.Permanent())
}
