package wire

import "time"

// PathStorageGrant is the storage gate: a device (bearer access token) asks
// for what it is about to do with its files and gets presigned requests
// (for the bytes) or the result of a call the service made itself (for
// control calls).
const PathStorageGrant = "/api/v1/storage/grant"

// MaxGrantOps bounds the operations of one grant request.
const MaxGrantOps = 1000

// MaxGrantListings bounds the listings (list, list_parts, list_uploads)
// one grant request may have carried out, and so the work and the size of
// its answer: each answers up to 1000 entries (list_parts up to 10,000
// parts). A device lists more by pages, in further requests.
const MaxGrantListings = 4

// IsListing reports whether op is a listing, which MaxGrantListings bounds.
func IsListing(op string) bool {
	return op == OpList || op == OpListParts || op == OpListUploads
}

// Operations of a grant request.
const (
	OpPut         = "put"          // presigned PUT of a whole object (Size, CRC32C, Meta)
	OpCommit      = "commit"       // a presigned PUT finished: the service checks the object and counts it
	OpCreate      = "create"       // the service begins a multipart upload (Meta); answers UploadID
	OpPart        = "part"         // presigned PUT of part Part of UploadID (Size, CRC32C)
	OpListParts   = "list_parts"   // the service lists the parts of UploadID; answers Parts
	OpComplete    = "complete"     // the service completes UploadID with Parts (and CRC32C, the full-object checksum); answers Object
	OpAbort       = "abort"        // the service aborts UploadID
	OpListUploads = "list_uploads" // the service lists incomplete uploads under Prefix; answers Uploads
	OpStat        = "stat"         // the service reads the object's size, ETag, checksum and metadata; answers Object
	OpGet         = "get"          // presigned GET (the device may add a Range header)
	OpList        = "list"         // the service lists objects under Prefix after After; answers Objects, Truncated
	OpCopy        = "copy"         // the service copies Source to Key with Meta; answers Object
)

// GrantRequest is the body of POST PathStorageGrant. Keys are full object
// keys; every key and prefix must lie under "<account ID>/".
type GrantRequest struct {
	Ops []Op `json:"ops"`
}

// Op is one operation the device asks for.
type Op struct {
	Op       string `json:"op"`
	Key      string `json:"key,omitempty"`
	Prefix   string `json:"prefix,omitempty"`    // list, list_uploads
	After    string `json:"after,omitempty"`     // list: start after this key
	Source   string `json:"source,omitempty"`    // copy: the key copied from
	Size     int64  `json:"size,omitempty"`      // put, part: the exact body size; create: the whole object's size (reserved against the quota)
	CRC32C   string `json:"crc32c,omitempty"`    // put, part: base64 CRC32C of the body; complete: of the whole object
	Meta     *Meta  `json:"meta,omitempty"`      // put, create, copy
	UploadID string `json:"upload_id,omitempty"` // part, list_parts, complete, abort
	Part     int    `json:"part,omitempty"`      // part: 1 to 10,000
	Parts    []Part `json:"parts,omitempty"`     // complete
	ETag     string `json:"etag,omitempty"`      // copy: copy only while Source has this ETag (If-Match)
	// IfAbsent makes a put or a complete store the object only while Key
	// holds none (If-None-Match: *): a put's grant signs the header, which
	// the device must send; a complete that finds an object fails with
	// ErrCodeExists, as does a presigned put (412 PreconditionFailed).
	IfAbsent bool `json:"if_absent,omitempty"`
}

// Object metadata names cloudkeep writes (as X-Amz-Meta-*), whichever
// side stores the object.
const (
	MetaSHA256 = "Sha256" // hex SHA-256 of the whole file
	MetaMTime  = "Mtime"  // the file's modification time, RFC 3339 with nanoseconds
	MetaDevice = "Device" // the device that uploaded it

	MetaCaptureTime   = "Capture-Time"   // when the photo or video was taken, RFC 3339 with the offset it was taken at
	MetaCaptureSource = "Capture-Source" // where MetaCaptureTime came from: exif, video, name or mtime
	MetaGroup         = "Group"          // the asset the file belongs to (a Live Photo, RAW+JPEG, a sidecar's photo): 16 hex digits
	MetaMotion        = "Motion-Photo"   // "true": a still with an embedded video (Google/Samsung motion photo), kept whole
)

// Capture sources (MetaCaptureSource), most trusted first.
const (
	CaptureEXIF  = "exif"  // EXIF DateTimeOriginal (with OffsetTimeOriginal when present)
	CaptureVideo = "video" // the video's own creation date (QuickTime creationdate, ©day, mvhd)
	CaptureName  = "name"  // a date in the file name (IMG_20240131_…)
	CaptureMTime = "mtime" // the file's modification time: nothing better was found
)

// Meta is what cloudkeep stores with an object.
type Meta struct {
	SHA256      string `json:"sha256,omitempty"` // hex, of the whole file; empty when not yet known
	MTime       string `json:"mtime,omitempty"`  // RFC 3339 with nanoseconds
	Device      string `json:"device,omitempty"`
	ContentType string `json:"content_type,omitempty"`

	CaptureTime   string `json:"capture_time,omitempty"`   // RFC 3339 with the offset it was taken at
	CaptureSource string `json:"capture_source,omitempty"` // CaptureEXIF, CaptureVideo, CaptureName or CaptureMTime
	Group         string `json:"group,omitempty"`          // 16 hex digits
	Motion        bool   `json:"motion,omitempty"`         // a motion photo
}

// Part is one part of a multipart upload.
type Part struct {
	Number int    `json:"number"`
	Size   int64  `json:"size,omitempty"`
	ETag   string `json:"etag"`
	CRC32C string `json:"crc32c,omitempty"`
}

// GrantResponse answers a GrantRequest: one Result per Op, in order.
type GrantResponse struct {
	Results []Result `json:"results"`
	// Usage is the account's storage use once the request is done, when
	// it stored something (a commit or a complete) and the account has a
	// quota: how a device learns that its account is nearly full.
	Usage *Usage `json:"usage,omitempty"`
}

// Usage is an account's storage use.
type Usage struct {
	Used  int64 `json:"used"`  // bytes stored
	Quota int64 `json:"quota"` // bytes allowed
}

// Result is the answer to one Op: a presigned request, the outcome of a
// control call, or an error for this op alone.
type Result struct {
	Error     *Error            `json:"error,omitempty"`
	Method    string            `json:"method,omitempty"`  // presigned: the method
	URL       string            `json:"url,omitempty"`     // presigned: the URL
	Headers   map[string]string `json:"headers,omitempty"` // presigned: headers to send exactly as given
	Expires   time.Time         `json:"expires,omitzero"`  // presigned: when the URL stops working
	UploadID  string            `json:"upload_id,omitempty"`
	Object    *Object           `json:"object,omitempty"`
	Objects   []Object          `json:"objects,omitempty"`
	Parts     []Part            `json:"parts,omitempty"`
	Uploads   []Upload          `json:"uploads,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
}

// Object describes a stored object.
type Object struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	LastModified time.Time `json:"last_modified,omitzero"`
	CRC32C       string    `json:"crc32c,omitempty"`        // the full-object CRC32C, when the server keeps one
	ChecksumType string    `json:"checksum_type,omitempty"` // "FULL_OBJECT" or "COMPOSITE"
	Meta         Meta      `json:"meta"`
}

// Upload is an incomplete multipart upload.
type Upload struct {
	Key      string    `json:"key"`
	UploadID string    `json:"upload_id"`
	Started  time.Time `json:"started,omitzero"`
}

// Error codes of the storage gate, per op or for the whole request.
const (
	ErrCodeQuotaExceeded = "quota_exceeded" // 403; Used and Quota say by how much
	ErrCodeAccessDenied  = "access_denied"  // the key is outside the account's prefix, or not allowed
	ErrCodeNotFound      = "not_found"      // no such object
	ErrCodeNoSuchUpload  = "no_such_upload" // the upload id is unknown or expired
	ErrCodeExists        = "exists"         // an if_absent complete found an object at the key: another writer took it
	ErrCodeInvalidOp     = "invalid_op"     // a malformed op
	ErrCodeStorage       = "storage_error"  // the storage failed; retrying may help
	ErrCodeInvalidToken  = "invalid_token"  // 401: signed out or disconnected
)

// Extra returns the capture and group fields of m as S3 user metadata
// (names without the X-Amz-Meta- prefix); empty fields are left out.
func (m Meta) Extra() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{MetaCaptureTime: m.CaptureTime, MetaCaptureSource: m.CaptureSource, MetaGroup: m.Group} {
		if v != "" {
			out[k] = v
		}
	}
	if m.Motion {
		out[MetaMotion] = "true"
	}
	return out
}

// ReadExtra sets the capture and group fields of m from S3 user metadata;
// get returns the value of a name however the server spelled it.
func (m *Meta) ReadExtra(get func(name string) string) {
	m.CaptureTime, m.CaptureSource, m.Group = get(MetaCaptureTime), get(MetaCaptureSource), get(MetaGroup)
	m.Motion = get(MetaMotion) == "true"
}
