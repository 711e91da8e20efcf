package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/s3copy"
)

// Direct is a bucket reached with keys of its own (static mode): minio-go
// signs every request.
type Direct struct {
	client *minio.Client
	core   minio.Core
	bucket string
}

// NewDirect returns the bucket named bucket reached through client.
func NewDirect(client *minio.Client, bucket string) *Direct {
	return &Direct{client: client, core: minio.Core{Client: client}, bucket: bucket}
}

// Put sends the body with an unsigned payload and its CRC32C, which the
// server verifies: no SHA-256 to compute on either side.
func (d *Direct) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error) {
	return d.put(ctx, key, body, size, crc32c, meta, false)
}

// PutNew is Put with If-None-Match: *.
func (d *Direct) PutNew(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error) {
	return d.put(ctx, key, body, size, crc32c, meta, true)
}

func (d *Direct) put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta, ifAbsent bool) (Object, error) {
	opts := putOptions(meta)
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	opts.DisableContentSha256 = true
	opts.UserMetadata["X-Amz-Checksum-Crc32c"] = crc32c
	info, err := d.core.PutObject(ctx, d.bucket, key, body, size, "", "", opts)
	if err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, classifyWrite(err, ifAbsent))
	}
	return Object{Key: key, Size: size, ETag: info.ETag, CRC32C: crc32c, FullObject: true, Meta: meta}, nil
}

func putOptions(m Meta) minio.PutObjectOptions {
	meta := map[string]string{wire.MetaMTime: m.MTime.UTC().Format(time.RFC3339Nano), wire.MetaDevice: m.Device}
	if m.SHA256 != "" {
		meta[wire.MetaSHA256] = m.SHA256
	}
	maps.Copy(meta, wireMeta(m).Extra())
	return minio.PutObjectOptions{UserMetadata: meta, ContentType: m.ContentType}
}

// Create begins a multipart upload checked with full-object CRC32C.
func (d *Direct) Create(ctx context.Context, key string, _ int64, meta Meta) (string, error) {
	opts := putOptions(meta)
	opts.UserMetadata["X-Amz-Checksum-Algorithm"] = "CRC32C"
	opts.UserMetadata["X-Amz-Checksum-Type"] = "FULL_OBJECT"
	id, err := d.core.NewMultipartUpload(ctx, d.bucket, key, opts)
	if err != nil {
		return "", fmt.Errorf("begin multipart %s: %w", key, classify(err))
	}
	return id, nil
}

// PutPart sends one part with an unsigned payload and its CRC32C.
func (d *Direct) PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (Part, error) {
	opts := minio.PutObjectPartOptions{
		CustomHeader:         http.Header{"X-Amz-Checksum-Crc32c": {crc32c}},
		DisableContentSha256: true,
	}
	res, err := d.core.PutObjectPart(ctx, d.bucket, key, uploadID, number, body, size, opts)
	if err != nil {
		return Part{}, fmt.Errorf("put part %d of %s: %w", number, key, classify(err))
	}
	return Part{Number: number, Size: size, ETag: strings.Trim(res.ETag, `"`), CRC32C: crc32c}, nil
}

// ListParts follows the server's pages of at most 1000 parts.
func (d *Direct) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	var out []Part
	marker := 0
	for {
		res, err := d.core.ListObjectParts(ctx, d.bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, fmt.Errorf("list parts of %s: %w", key, classify(err))
		}
		for _, p := range res.ObjectParts {
			out = append(out, Part{Number: p.PartNumber, Size: p.Size, ETag: strings.Trim(p.ETag, `"`), CRC32C: p.ChecksumCRC32C})
		}
		if !res.IsTruncated {
			return out, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// Complete joins the parts with the full-object CRC32C for the server to
// check.
func (d *Direct) Complete(ctx context.Context, key, uploadID string, parts []Part) (Object, error) {
	return d.complete(ctx, key, uploadID, parts, false)
}

// CompleteNew is Complete with If-None-Match: *.
func (d *Direct) CompleteNew(ctx context.Context, key, uploadID string, parts []Part) (Object, error) {
	return d.complete(ctx, key, uploadID, parts, true)
}

func (d *Direct) complete(ctx context.Context, key, uploadID string, parts []Part, ifAbsent bool) (Object, error) {
	full, err := FullCRC32C(parts)
	if err != nil {
		return Object{}, fmt.Errorf("complete multipart %s: %w", key, err)
	}
	cp := make([]minio.CompletePart, len(parts))
	var size int64
	for i, p := range parts {
		cp[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag, ChecksumCRC32C: p.CRC32C}
		size += p.Size
	}
	opts := minio.PutObjectOptions{UserMetadata: map[string]string{
		"X-Amz-Checksum-Crc32c": full,
		"X-Amz-Checksum-Type":   "FULL_OBJECT",
	}}
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	info, err := d.core.CompleteMultipartUpload(ctx, d.bucket, key, uploadID, cp, opts)
	if err != nil {
		return Object{}, fmt.Errorf("complete multipart %s: %w", key, classifyWrite(err, ifAbsent))
	}
	return Object{Key: key, Size: size, ETag: info.ETag, CRC32C: full, FullObject: true}, nil
}

// Abort cancels an upload; one already gone is not an error.
func (d *Direct) Abort(ctx context.Context, key, uploadID string) error {
	err := classify(d.core.AbortMultipartUpload(ctx, d.bucket, key, uploadID))
	if err != nil && !errors.Is(err, ErrNoSuchUpload) {
		return fmt.Errorf("abort multipart %s: %w", key, err)
	}
	return nil
}

// ListUploads lists every incomplete upload and keeps those under prefix:
// MinIO lists the uploads of one exact key, or of all keys.
func (d *Direct) ListUploads(ctx context.Context, prefix string) ([]Upload, error) {
	var out []Upload
	for up := range d.client.ListIncompleteUploads(ctx, d.bucket, "", true) {
		if up.Err != nil {
			return nil, fmt.Errorf("list incomplete uploads: %w", classify(up.Err))
		}
		if strings.HasPrefix(up.Key, prefix) {
			out = append(out, Upload{Key: up.Key, UploadID: up.UploadID, Started: up.Initiated})
		}
	}
	return out, nil
}

// Stat reads the object's attributes with its checksum.
func (d *Direct) Stat(ctx context.Context, key string) (Object, error) {
	info, err := d.client.StatObject(ctx, d.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, classify(err))
	}
	o := objectOf(info, info.UserMetadata)
	o.CRC32C, o.FullObject = info.ChecksumCRC32C, info.ChecksumMode == "FULL_OBJECT"
	return o, nil
}

// Get reads the object from offset.
func (d *Direct) Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if offset > 0 {
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
	}
	body, _, _, err := d.core.GetObject(ctx, d.bucket, key, opts)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, classify(err))
	}
	return body, nil
}

// List lists with metadata; servers that do not list metadata (all but
// MinIO) are asked for each object's.
func (d *Direct) List(ctx context.Context, prefix string, fn func(Object) error) error {
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithMetadata: true}
	for info := range d.client.ListObjects(ctx, d.bucket, opts) {
		if info.Err != nil {
			return fmt.Errorf("list %s: %w", prefix, classify(info.Err))
		}
		o := objectOf(info, info.UserMetadataStripped)
		if info.UserMetadataStripped == nil && info.UserMetadata == nil {
			st, err := d.Stat(ctx, info.Key)
			if errors.Is(err, ErrNotFound) {
				continue // deleted while listed
			} else if err != nil {
				return err
			}
			o.Meta = st.Meta
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// ListKeys lists keys, sizes and ETags, without metadata (KeyLister).
func (d *Direct) ListKeys(ctx context.Context, prefix string, fn func(Object) error) error {
	for info := range d.client.ListObjects(ctx, d.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return fmt.Errorf("list %s: %w", prefix, classify(info.Err))
		}
		if err := fn(Object{Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`), LastModified: info.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// ListFolder asks for one page of the folder's listing (key and size, no
// metadata): a folder of more than limit objects, or of more than one
// page, is not complete.
func (d *Direct) ListFolder(ctx context.Context, prefix string, limit int) ([]Object, bool, error) {
	ctx, cancel := context.WithCancel(ctx) // no request for the next page
	defer cancel()
	limit = min(limit, 1000)
	var out []Object
	seen := 0
	for info := range d.client.ListObjects(ctx, d.bucket, minio.ListObjectsOptions{Prefix: prefix, MaxKeys: limit}) {
		if info.Err != nil {
			return nil, false, fmt.Errorf("list %s: %w", prefix, classify(info.Err))
		}
		if seen++; seen >= limit {
			return nil, false, nil // there may be more
		}
		if !strings.HasSuffix(info.Key, "/") { // a subfolder
			out = append(out, Object{Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`)})
		}
	}
	return out, true, nil
}

// Copy copies on the server; objects over 5 GiB part by part.
func (d *Direct) Copy(ctx context.Context, dst, src, srcETag string, meta Meta) (Object, error) {
	opts := putOptions(meta)
	do := minio.CopyDestOptions{Bucket: d.bucket, Object: dst, ReplaceMetadata: true,
		UserMetadata: opts.UserMetadata, ContentType: opts.ContentType}
	so := minio.CopySrcOptions{Bucket: d.bucket, Object: src, MatchETag: srcETag}
	st, err := d.Stat(ctx, src)
	if err != nil {
		return Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	info, err := s3copy.Copy(ctx, d.client, st.Size, do, so)
	if err != nil {
		return Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, classify(err))
	}
	return Object{Key: dst, Size: st.Size, ETag: info.ETag, Meta: meta}, nil
}

// objectOf converts minio-go's object info; meta is keyed without the
// X-Amz-Meta- prefix.
func objectOf(info minio.ObjectInfo, meta map[string]string) Object {
	o := Object{Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`), LastModified: info.LastModified}
	w := wire.Meta{SHA256: metaValue(meta, wire.MetaSHA256), MTime: metaValue(meta, wire.MetaMTime),
		Device: metaValue(meta, wire.MetaDevice), ContentType: info.ContentType}
	w.ReadExtra(func(name string) string { return metaValue(meta, name) })
	o.Meta = metaFromWire(w)
	return o
}

// metaValue finds a metadata value however the server spelled its key.
func metaValue(meta map[string]string, name string) string {
	for k, v := range meta {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"), name) {
			return v
		}
	}
	return ""
}

// classify maps minio-go's errors onto this package's (classifyS3).
func classify(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	return classifyS3(resp.StatusCode, resp.Code, resp.Message).wrap(err)
}

// classifyWrite is classify for a write: one made only while the key is
// free (ifAbsent) that the server refused for its condition is ErrExists.
func classifyWrite(err error, ifAbsent bool) error {
	if resp := minio.ToErrorResponse(err); ifAbsent && (resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed) {
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return classify(err)
}

// FullCRC32C returns the base64 CRC32C of the whole object made of parts
// (each with Size and CRC32C), as S3 checks it at completion.
func FullCRC32C(parts []Part) (string, error) {
	op := make([]minio.ObjectPart, len(parts))
	for i, p := range parts {
		op[i] = minio.ObjectPart{PartNumber: p.Number, Size: p.Size, ChecksumCRC32C: p.CRC32C}
	}
	full, err := minio.ChecksumCRC32C.FullObjectChecksum(op)
	if err != nil {
		return "", fmt.Errorf("full-object crc32c: %w", err)
	}
	return full.Encoded(), nil
}
