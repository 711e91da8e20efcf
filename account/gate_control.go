package account

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/s3copy"
)

// create begins a multipart upload with a full-object CRC32C, as the
// uploader does, and keeps the quota reservation under the upload's ID.
func (g *Gate) create(ctx context.Context, c Caller, op wire.Op, held string) wire.Result {
	opts := minio.PutObjectOptions{UserMetadata: userMeta(op.Meta)}
	opts.UserMetadata["X-Amz-Checksum-Algorithm"] = "CRC32C"
	opts.UserMetadata["X-Amz-Checksum-Type"] = "FULL_OBJECT"
	if op.Meta != nil {
		opts.ContentType = op.Meta.ContentType
	}
	id, err := g.core.NewMultipartUpload(ctx, g.cfg.Bucket, op.Key, opts)
	if err != nil {
		g.store.Release(context.WithoutCancel(ctx), c.AccountID, held)
		return g.storageError(c, "create", op.Key, err)
	}
	if err := g.store.RenameReservation(ctx, c.AccountID, held, "upload:"+id, g.now().Add(uploadReservation)); err != nil {
		return g.storageError(c, "create", op.Key, err)
	}
	return wire.Result{UploadID: id}
}

// listParts lists every part the storage holds for the upload.
func (g *Gate) listParts(ctx context.Context, op wire.Op) wire.Result {
	var out wire.Result
	marker := 0
	for {
		res, err := g.core.ListObjectParts(ctx, g.cfg.Bucket, op.Key, op.UploadID, marker, 1000)
		if err != nil {
			return g.storageError(Caller{}, "list parts", op.Key, err)
		}
		for _, p := range res.ObjectParts {
			out.Parts = append(out.Parts, wire.Part{Number: p.PartNumber, Size: p.Size, ETag: p.ETag, CRC32C: p.ChecksumCRC32C})
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return out
		}
		marker = res.NextPartNumberMarker
	}
}

// complete joins the parts, with the full-object CRC32C for the storage to
// check, then counts the object and frees its reservation.
func (g *Gate) complete(ctx context.Context, c Caller, op wire.Op) wire.Result {
	parts := make([]minio.CompletePart, len(op.Parts))
	objParts := make([]minio.ObjectPart, len(op.Parts))
	for i, p := range op.Parts {
		parts[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag, ChecksumCRC32C: p.CRC32C}
		objParts[i] = minio.ObjectPart{PartNumber: p.Number, Size: p.Size, ChecksumCRC32C: p.CRC32C}
	}
	full := op.CRC32C
	if full == "" {
		sum, err := minio.ChecksumCRC32C.FullObjectChecksum(objParts)
		if err != nil {
			return opError(wire.ErrCodeInvalidOp, "crc32c missing and not computable from the parts: %v", err)
		}
		full = sum.Encoded()
	}
	opts := minio.PutObjectOptions{UserMetadata: map[string]string{
		"X-Amz-Checksum-Crc32c": full,
		"X-Amz-Checksum-Type":   "FULL_OBJECT",
	}}
	if op.IfAbsent {
		opts.SetMatchETagExcept("*")
	}
	if _, err := g.core.CompleteMultipartUpload(ctx, g.cfg.Bucket, op.Key, op.UploadID, parts, opts); err != nil {
		if op.IfAbsent && minio.ToErrorResponse(err).Code == "PreconditionFailed" {
			return opError(wire.ErrCodeExists, "complete %s: another object took the key first", op.Key)
		}
		return g.storageError(c, "complete", op.Key, err)
	}
	return g.count(ctx, c, op.Key, "upload:"+op.UploadID)
}

// count records an object the device has stored, held to the quota by
// the reservation hold made for it, which it then frees. One HEAD serves
// both the check and the index row, so the size checked is the size
// counted.
func (g *Gate) count(ctx context.Context, c Caller, key, hold string) wire.Result {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return g.storageError(c, "stat", key, err)
	}
	return g.countInfo(ctx, c, key, info, hold)
}

// countInfo is count for the object a HEAD described.
func (g *Gate) countInfo(ctx context.Context, c Caller, key string, info minio.ObjectInfo, hold string) wire.Result {
	reserved, err := g.store.ReservedSize(ctx, c.AccountID, hold, key)
	if err != nil {
		return g.storageError(c, "count", key, err)
	}
	excess, res, refused := g.checkDeclared(ctx, c, key, info.Size, max(reserved, 0))
	if refused {
		if res.Error.Code == wire.ErrCodeQuotaExceeded {
			g.store.Release(context.WithoutCancel(ctx), c.AccountID, hold) // the object is gone
		}
		return res
	}
	res = g.indexInfo(ctx, c, key, info, hold)
	if excess != "" {
		g.store.Release(context.WithoutCancel(ctx), c.AccountID, excess)
	}
	return res
}

// putHold names the reservation of a put grant by its key and size: the
// storage enforces the signed size, so an object of that size under that
// key is what that grant (or one just like it) stored. Grants of other
// sizes for the key keep their own reservations until they are counted or
// their URLs have expired: a device cannot free one grant's space by
// committing another's object, or before its bytes land.
func putHold(key string, size int64) string {
	return "put:" + key + "\n" + strconv.FormatInt(size, 10)
}

// checkDeclared holds the quota to an object (of size bytes) bigger than
// the size its upload reserved plus the size it replaces: the excess must
// fit (its reservation, returned, is to be released once the object is
// counted), or the object is removed and the op answers quota_exceeded.
// An upload whose reservation is gone (expired, or never made) reserved
// nothing.
func (g *Gate) checkDeclared(ctx context.Context, c Caller, key string, size, reserved int64) (string, wire.Result, bool) {
	old, err := g.store.IndexedObjects(ctx, c.AccountID, key, key)
	if err != nil {
		return "", g.storageError(c, "count", key, err), true
	}
	for _, o := range old {
		reserved += o.Size // replaced by the new object
	}
	if size <= reserved {
		return "", wire.Result{}, false
	}
	r := Reservation{ID: "excess:" + key, Key: key, Size: size - reserved, Expires: g.now().Add(minPutReservation)}
	res, refused := g.reserveOne(ctx, c, r)
	if !refused {
		return r.ID, wire.Result{}, false
	}
	g.log.Warn().Str("account", c.AccountID).Str("key", key).Int64("size_bytes", size).Int64("declared_bytes", reserved).
		Msg("upload larger than declared and over the quota: removed")
	if err := g.client.RemoveObject(context.WithoutCancel(ctx), g.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return "", g.storageError(c, "remove", key, err), true
	}
	return "", res, true
}

// abort cancels the upload and frees its reservation.
func (g *Gate) abort(ctx context.Context, c Caller, op wire.Op) wire.Result {
	// Some servers (MinIO) answer an abort under another key with success
	// and abort nothing: only the reservation made for this key goes.
	hold := "upload:" + op.UploadID
	reserved, err := g.store.ReservedSize(ctx, c.AccountID, hold, op.Key)
	if err != nil {
		return g.storageError(c, "abort", op.Key, err)
	}
	err = g.core.AbortMultipartUpload(ctx, g.cfg.Bucket, op.Key, op.UploadID)
	if reserved >= 0 && (err == nil || minio.ToErrorResponse(err).Code == "NoSuchUpload") {
		if rerr := g.store.Release(ctx, c.AccountID, hold); rerr != nil {
			return g.storageError(c, "abort", op.Key, rerr)
		}
	}
	if err != nil {
		return g.storageError(c, "abort", op.Key, err)
	}
	return wire.Result{}
}

// listUploads lists incomplete uploads under the prefix, up to 1000 from
// the key After.
func (g *Gate) listUploads(ctx context.Context, op wire.Op) wire.Result {
	res, err := g.core.ListMultipartUploads(ctx, g.cfg.Bucket, op.Prefix, op.After, "", "", 1000)
	if err != nil {
		return g.storageError(Caller{}, "list uploads", op.Prefix, err)
	}
	out := wire.Result{Truncated: res.IsTruncated, Uploads: []wire.Upload{}}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, wire.Upload{Key: u.Key, UploadID: u.UploadID, Started: u.Initiated})
	}
	return out
}

// stat reads the object's size, ETag, checksum and metadata.
func (g *Gate) stat(ctx context.Context, op wire.Op) wire.Result {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, op.Key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return g.storageError(Caller{}, "stat", op.Key, err)
	}
	o := objectOf(info)
	return wire.Result{Object: &o}
}

// list lists up to 1000 objects under the prefix after the key After,
// with the metadata the index knows.
func (g *Gate) list(ctx context.Context, c Caller, op wire.Op) wire.Result {
	res, err := g.core.ListObjectsV2(g.cfg.Bucket, op.Prefix, op.After, "", "", 1000)
	if err != nil {
		return g.storageError(c, "list", op.Prefix, err)
	}
	out := wire.Result{Truncated: res.IsTruncated, Objects: make([]wire.Object, 0, len(res.Contents))}
	for _, o := range res.Contents {
		out.Objects = append(out.Objects, wire.Object{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`), LastModified: o.LastModified})
	}
	if n := len(out.Objects); n > 0 {
		g.addIndexMeta(ctx, c, out.Objects)
	}
	return out
}

// addIndexMeta fills in metadata of listed objects the index holds with
// the same ETag.
func (g *Gate) addIndexMeta(ctx context.Context, c Caller, objs []wire.Object) {
	rows, err := g.store.IndexedObjects(ctx, c.AccountID, objs[0].Key, objs[len(objs)-1].Key)
	if err != nil {
		g.log.Warn().Err(err).Str("account", c.AccountID).Msg("list without index metadata")
		return
	}
	byKey := make(map[string]StoredObject, len(rows))
	for _, r := range rows {
		byKey[r.Key] = r
	}
	for i, o := range objs {
		if r, ok := byKey[o.Key]; ok && r.ETag == o.ETag {
			objs[i].Meta = r.Meta()
		}
	}
}

// copy copies Source to Key on the storage (part by part above 5 GiB),
// replacing the metadata when Meta is given, then counts the new object.
func (g *Gate) copy(ctx context.Context, c Caller, op wire.Op) wire.Result {
	src, err := g.core.StatObject(ctx, g.cfg.Bucket, op.Source, minio.StatObjectOptions{})
	if err != nil {
		return g.storageError(c, "copy", op.Source, err)
	}
	hold := ""
	if op.Source != op.Key {
		hold = "copy:" + op.Key
		r := Reservation{ID: hold, Key: op.Key, Size: src.Size, Expires: g.now().Add(minPutReservation)}
		if res, refused := g.reserveOne(ctx, c, r); refused {
			return res
		}
	}
	dst := minio.CopyDestOptions{Bucket: g.cfg.Bucket, Object: op.Key}
	if op.Meta != nil {
		dst.ReplaceMetadata, dst.UserMetadata, dst.ContentType = true, userMeta(op.Meta), op.Meta.ContentType
	}
	from := minio.CopySrcOptions{Bucket: g.cfg.Bucket, Object: op.Source, MatchETag: op.ETag}
	if _, err := s3copy.Copy(ctx, g.client, src.Size, dst, from); err != nil {
		if hold != "" {
			g.store.Release(context.WithoutCancel(ctx), c.AccountID, hold)
		}
		return g.storageError(c, "copy", op.Key, err)
	}
	return g.index(ctx, c, op.Key, hold)
}

// reserveOne holds space for one control call; refused reports a result
// that says why it may not go on.
func (g *Gate) reserveOne(ctx context.Context, c Caller, r Reservation) (wire.Result, bool) {
	ok, err := g.store.Reserve(ctx, c.AccountID, []Reservation{r}, g.cfg.DefaultQuota, g.now())
	if err != nil {
		return g.storageError(c, "reserve", r.Key, err), true
	}
	if ok {
		return wire.Result{}, false
	}
	u, err := g.Usage(ctx, c.AccountID)
	if err != nil {
		return g.storageError(c, "reserve", r.Key, err), true
	}
	qe := &QuotaError{Used: u.Used, Reserved: u.Reserved, Quota: u.Quota}
	return wire.Result{Error: &wire.Error{Code: wire.ErrCodeQuotaExceeded, Message: qe.Error(), Used: u.Used, Quota: u.Quota}}, true
}

// commit counts an object the device has PUT with a presigned request,
// read with a HEAD.
func (g *Gate) commit(ctx context.Context, c Caller, op wire.Op) wire.Result {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, op.Key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return g.storageError(c, "stat", op.Key, err)
	}
	return g.countInfo(ctx, c, op.Key, info, putHold(op.Key, info.Size))
}

// index stats a completed object, records it in the account's index and
// usage, and drops the reservation release.
func (g *Gate) index(ctx context.Context, c Caller, key, release string) wire.Result {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return g.storageError(c, "stat", key, err)
	}
	return g.indexInfo(ctx, c, key, info, release)
}

// indexInfo records the object info describes (a HEAD's answer) in the
// account's index and usage, and drops the reservation release.
func (g *Gate) indexInfo(ctx context.Context, c Caller, key string, info minio.ObjectInfo, release string) wire.Result {
	o := objectOf(info)
	row := storedObject(c.AccountID, o, g.now())
	row.Key = key
	if err := g.store.PutObject(ctx, row, release); err != nil {
		return g.storageError(c, "index", key, err)
	}
	g.log.Debug().Str("account", c.AccountID).Str("key", key).Int64("size_bytes", o.Size).Msg("object counted")
	return wire.Result{Object: &o}
}

// objectOf describes a stored object for the device.
func objectOf(info minio.ObjectInfo) wire.Object {
	return wire.Object{Key: info.Key, Size: info.Size, ETag: info.ETag, LastModified: info.LastModified,
		CRC32C: info.ChecksumCRC32C, ChecksumType: info.ChecksumMode, Meta: metaOf(info.UserMetadata, info.ContentType)}
}

// metaOf reads the metadata of an object from its user metadata, keyed
// without the X-Amz-Meta- prefix as a HEAD answers it.
func metaOf(user map[string]string, contentType string) wire.Meta {
	device, err := new(mime.WordDecoder).DecodeHeader(user[wire.MetaDevice])
	if err != nil {
		device = user[wire.MetaDevice]
	}
	m := wire.Meta{SHA256: user[wire.MetaSHA256], MTime: user[wire.MetaMTime], Device: device, ContentType: contentType}
	m.ReadExtra(func(name string) string { return user[name] })
	return m
}

// storageError maps a storage failure to the op's wire error: a missing
// object or upload by its code, a refused request as invalid_op, anything
// else as storage_error (retrying may help).
func (g *Gate) storageError(c Caller, what, key string, err error) wire.Result {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return opError(wire.ErrCodeNotFound, "%s %s: no such object", what, key)
	case "NoSuchUpload":
		return opError(wire.ErrCodeNoSuchUpload, "%s %s: the upload is unknown or expired", what, key)
	case "PreconditionFailed":
		return opError(wire.ErrCodeNotFound, "%s %s: the source changed (its ETag differs)", what, key)
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "BadDigest", "InvalidDigest",
		"XAmzContentChecksumMismatch", "InvalidRequest", "InvalidArgument":
		return opError(wire.ErrCodeInvalidOp, "%s %s: refused by the storage: %s", what, key, resp.Message)
	}
	if !errors.Is(err, context.Canceled) {
		g.log.Warn().Err(err).Str("account", c.AccountID).Str("op", what).Str("key", key).Msg("storage call failed")
	}
	return opError(wire.ErrCodeStorage, "%s %s: the storage failed: %s", what, key, storageMessage(resp, err))
}

func storageMessage(resp minio.ErrorResponse, err error) string {
	if resp.Code != "" {
		return fmt.Sprintf("%s (%s)", resp.Message, resp.Code)
	}
	return err.Error()
}

// grantPart lets a part be sent only within the size its upload reserved:
// an upload whose parts would add up to more is refused (quota_exceeded),
// one with no live reservation for this key is unknown (no_such_upload).
func (g *Gate) grantPart(ctx context.Context, c Caller, op wire.Op) wire.Result {
	ok, err := g.store.GrantPart(ctx, c.AccountID, op.UploadID, op.Key, op.Part, op.Size, g.now())
	if err != nil {
		return g.storageError(c, "grant part", op.Key, err)
	}
	if ok {
		return wire.Result{}
	}
	reserved, err := g.store.ReservedSize(ctx, c.AccountID, "upload:"+op.UploadID, op.Key)
	if err != nil {
		return g.storageError(c, "grant part", op.Key, err)
	}
	if reserved < 0 {
		return opError(wire.ErrCodeNoSuchUpload, "no upload %s of %s is in progress: begin it again", op.UploadID, op.Key)
	}
	return opError(wire.ErrCodeQuotaExceeded, "the parts of %s would add up to more than the %d bytes declared when it began", op.Key, reserved)
}
