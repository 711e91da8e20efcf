// Package s3copy copies an object on the server, whatever its size: the
// device's storage (renames) and the account service's copy op use it.
package s3copy

import (
	"context"
	"maps"

	"github.com/minio/minio-go/v7"
)

// MaxSize is the largest object one CopyObject may copy (5 GiB, the S3
// limit); bigger ones are copied part by part, in parts of this size. A
// variable so that a test can lower it.
var MaxSize int64 = 5 << 30

// Copy copies src to dst on the server. An object of at most MaxSize
// (size bytes) takes one CopyObject; a bigger one a multipart copy
// (UploadPartCopy, through minio-go's ComposeObject) with dst's metadata
// and content type.
func Copy(ctx context.Context, client *minio.Client, size int64, dst minio.CopyDestOptions, src minio.CopySrcOptions) (minio.UploadInfo, error) {
	if size <= MaxSize {
		return client.CopyObject(ctx, dst, src)
	}
	// ComposeObject begins the upload with UserMetadata alone: the content
	// type travels there (minio-go sends it as a header, not x-amz-meta-).
	if dst.ContentType != "" {
		dst.UserMetadata = maps.Clone(dst.UserMetadata)
		if dst.UserMetadata == nil {
			dst.UserMetadata = map[string]string{}
		}
		dst.UserMetadata["Content-Type"] = dst.ContentType
	}
	dst.PartSize = uint64(MaxSize)
	return client.ComposeObject(ctx, dst, src)
}
