package account

import (
	"context"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// signContentLength makes presigned PUTs sign Content-Length, so that the
// storage refuses a body of another size than the one granted (and
// reserved against the quota).
const signContentLength = true

// presign signs one request for the device to send itself: the checksum,
// metadata, type and length are signed, so the device must send exactly
// the headers returned.
func (g *Gate) presign(ctx context.Context, c Caller, op wire.Op, expires time.Time) wire.Result {
	method, query, header := http.MethodGet, url.Values{}, http.Header{}
	switch op.Op {
	case wire.OpPut:
		method = http.MethodPut
		putHeaders(header, op)
	case wire.OpPart:
		method = http.MethodPut
		query.Set("partNumber", strconv.Itoa(op.Part))
		query.Set("uploadId", op.UploadID)
		header.Set("X-Amz-Checksum-Crc32c", op.CRC32C)
		setLength(header, op.Size)
	}
	u, err := g.client.PresignHeader(ctx, method, g.cfg.Bucket, op.Key, g.cfg.GrantTTL, query, header)
	if err != nil {
		g.log.Warn().Err(err).Str("account", c.AccountID).Str("op", op.Op).Msg("presign failed")
		return opError(wire.ErrCodeStorage, "could not sign the request: %v", err)
	}
	out := wire.Result{Method: method, URL: u.String(), Expires: expires}
	if len(header) > 0 {
		out.Headers = make(map[string]string, len(header))
		for k := range header {
			out.Headers[k] = header.Get(k)
		}
	}
	return out
}

// putHeaders are the signed headers of a whole-object PUT.
func putHeaders(h http.Header, op wire.Op) {
	h.Set("X-Amz-Checksum-Crc32c", op.CRC32C)
	setLength(h, op.Size)
	for k, v := range userMeta(op.Meta) {
		h.Set("X-Amz-Meta-"+k, v)
	}
	if op.Meta != nil && op.Meta.ContentType != "" {
		h.Set("Content-Type", op.Meta.ContentType)
	}
	if op.IfAbsent {
		h.Set("If-None-Match", "*") // the storage refuses the PUT (412) once the key holds an object
	}
}

func setLength(h http.Header, size int64) {
	if signContentLength {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
}

// userMeta is m as S3 user metadata, under the names the uploader uses. A
// device name that is not plain ASCII is RFC 2047 encoded, as S3 wants.
func userMeta(m *wire.Meta) map[string]string {
	out := map[string]string{}
	if m == nil {
		return out
	}
	for k, v := range map[string]string{wire.MetaSHA256: m.SHA256, wire.MetaMTime: m.MTime, wire.MetaDevice: mime.QEncoding.Encode("utf-8", m.Device)} {
		if v != "" {
			out[k] = v
		}
	}
	maps.Copy(out, m.Extra())
	return out
}
