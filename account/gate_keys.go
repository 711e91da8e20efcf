package account

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// S3 limits the gate enforces before the storage does.
const (
	maxKeyBytes  = 1024
	maxPartSize  = 5 << 30
	maxPutSize   = 5 << 30
	maxPartCount = 10000
	maxMetaBytes = 256
)

// checkKey reports why key may not be used by account, or nil. A key must
// lie under "<account>/" (the slash included: account 12 never reaches
// 123/…), be valid UTF-8 of at most 1024 bytes without control characters,
// and have no empty, "." or ".." segment (also when percent-encoded). With
// prefix set, key is a list prefix: it may be "<account>/" itself or end
// with "/".
func checkKey(account, key string, prefix bool) *wire.Error {
	switch {
	case key == "":
		return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: "the key is empty"}
	case len(key) > maxKeyBytes:
		return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: "the key is longer than 1024 bytes"}
	case !utf8.ValidString(key):
		return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: "the key is not valid UTF-8"}
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: "the key contains a control character"}
	}
	rest, ok := strings.CutPrefix(key, account+"/")
	if !ok || account == "" {
		return &wire.Error{Code: wire.ErrCodeAccessDenied, Message: "the key is outside this account's files"}
	}
	if prefix {
		rest = strings.TrimSuffix(rest, "/")
		if rest == "" {
			return nil
		}
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if badSegment(seg) {
			return &wire.Error{Code: wire.ErrCodeAccessDenied, Message: "the key has an empty, \".\" or \"..\" segment"}
		}
	}
	return nil
}

func badSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." {
		return true
	}
	dec, err := url.PathUnescape(seg)
	return err == nil && (dec == "." || dec == "..")
}

// checkOp reports why op cannot be granted to account, or nil.
func checkOp(account string, op wire.Op) *wire.Error {
	check, ok := opChecks[op.Op]
	if !ok {
		return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: "unknown op " + strconvQuote(op.Op)}
	}
	if op.IfAbsent && op.Op != wire.OpPut && op.Op != wire.OpComplete {
		return invalid("if_absent applies to put and complete only")
	}
	return check(account, op)
}

var opChecks map[string]func(string, wire.Op) *wire.Error

func init() {
	opChecks = map[string]func(string, wire.Op) *wire.Error{
		wire.OpPut:         checkPut,
		wire.OpCommit:      keyOnly,
		wire.OpCreate:      checkCreate,
		wire.OpPart:        checkPart,
		wire.OpListParts:   withUpload,
		wire.OpComplete:    checkComplete,
		wire.OpAbort:       withUpload,
		wire.OpListUploads: checkList,
		wire.OpStat:        keyOnly,
		wire.OpGet:         keyOnly,
		wire.OpList:        checkList,
		wire.OpCopy:        checkCopy,
	}
}

func invalid(msg string) *wire.Error { return &wire.Error{Code: wire.ErrCodeInvalidOp, Message: msg} }

func keyOnly(account string, op wire.Op) *wire.Error { return checkKey(account, op.Key, false) }

func checkPut(account string, op wire.Op) *wire.Error {
	if e := keyOnly(account, op); e != nil {
		return e
	}
	if op.Size < 0 || op.Size > maxPutSize {
		return invalid("size must be 0 to 5 GiB: larger files go in parts")
	}
	if !validCRC32C(op.CRC32C) {
		return invalid("crc32c must be the base64 CRC32C of the body")
	}
	return checkMeta(op.Meta)
}

func checkCreate(account string, op wire.Op) *wire.Error {
	if e := keyOnly(account, op); e != nil {
		return e
	}
	if op.Size <= 0 || op.Size > maxPartSize*maxPartCount {
		return invalid("size must be the whole object's size, 1 byte to 5 TiB: it is reserved against the quota")
	}
	return checkMeta(op.Meta)
}

func withUpload(account string, op wire.Op) *wire.Error {
	if e := keyOnly(account, op); e != nil {
		return e
	}
	if !validUploadID(op.UploadID) {
		return invalid("upload_id is missing or malformed")
	}
	return nil
}

// validUploadID reports whether id looks like an upload ID some S3 server
// hands out: up to 1024 letters, digits and "-_.~=+", and not "." or "..".
// Servers that keep uploads as files (versitygw) use the ID as a path
// segment, so "..", "/" or "\" in it would reach other accounts' uploads.
func validUploadID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.~=+", r)))
	}) < 0
}

func checkPart(account string, op wire.Op) *wire.Error {
	if e := withUpload(account, op); e != nil {
		return e
	}
	switch {
	case op.Part < 1 || op.Part > maxPartCount:
		return invalid("part must be 1 to 10000")
	case op.Size < 1 || op.Size > maxPartSize:
		return invalid("size must be 1 byte to 5 GiB")
	case !validCRC32C(op.CRC32C):
		return invalid("crc32c must be the base64 CRC32C of the part")
	}
	return nil
}

func checkComplete(account string, op wire.Op) *wire.Error {
	if e := withUpload(account, op); e != nil {
		return e
	}
	if len(op.Parts) == 0 || len(op.Parts) > maxPartCount {
		return invalid("parts must list 1 to 10000 parts")
	}
	for i, p := range op.Parts {
		if p.Number != i+1 || p.ETag == "" || (p.CRC32C != "" && !validCRC32C(p.CRC32C)) {
			return invalid("parts must be numbered 1, 2, … in order, each with its etag and crc32c")
		}
	}
	if op.CRC32C != "" && !validCRC32C(op.CRC32C) {
		return invalid("crc32c must be the base64 full-object CRC32C")
	}
	return nil
}

func checkList(account string, op wire.Op) *wire.Error {
	if e := checkKey(account, op.Prefix, true); e != nil {
		return e
	}
	if op.After != "" && !strings.HasPrefix(op.After, op.Prefix) {
		return invalid("after must lie under prefix")
	}
	return nil
}

func checkCopy(account string, op wire.Op) *wire.Error {
	if e := keyOnly(account, op); e != nil {
		return e
	}
	if e := checkKey(account, op.Source, false); e != nil {
		return e
	}
	return checkMeta(op.Meta)
}

// checkMeta refuses metadata that could not travel as an HTTP header or
// that is not what cloudkeep writes.
func checkMeta(m *wire.Meta) *wire.Error {
	if m == nil {
		return nil
	}
	if m.SHA256 != "" {
		if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
			return invalid("meta.sha256 must be 64 hex digits")
		}
	}
	if m.MTime != "" {
		if _, err := time.Parse(time.RFC3339Nano, m.MTime); err != nil {
			return invalid("meta.mtime must be RFC 3339")
		}
	}
	if d := m.Device; len(d) > maxMetaBytes || !utf8.ValidString(d) || strings.IndexFunc(d, unicode.IsControl) >= 0 {
		return invalid("meta.device must be UTF-8 of at most 256 bytes without control characters")
	}
	if t := m.ContentType; len(t) > maxMetaBytes || strings.IndexFunc(t, notHeaderSafe) >= 0 {
		return invalid("meta.content_type must be printable ASCII of at most 256 bytes")
	}
	if m.CaptureTime != "" {
		if _, err := time.Parse(time.RFC3339Nano, m.CaptureTime); err != nil {
			return invalid("meta.capture_time must be RFC 3339")
		}
	}
	switch m.CaptureSource {
	case "", wire.CaptureEXIF, wire.CaptureVideo, wire.CaptureName, wire.CaptureMTime:
	default:
		return invalid("meta.capture_source must be exif, video, name or mtime")
	}
	if g := m.Group; g != "" {
		if b, err := hex.DecodeString(g); err != nil || len(b) != 8 {
			return invalid("meta.group must be 16 hex digits")
		}
	}
	return nil
}

func notHeaderSafe(r rune) bool { return r < 0x20 || r > 0x7e }

func validCRC32C(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) == 4
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}
