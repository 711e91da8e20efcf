package uploader

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
)

// AbortStale aborts the incomplete multipart uploads under prefix whose
// upload ids are not in keep (the journal's in-flight uploads), and returns
// how many it aborted. They are left over from a crash before the journal
// recorded them, or from a journal that was deleted.
//
// MinIO lists the uploads of one exact key, or of every key when the prefix
// is empty, so the prefix is applied here rather than sent to the server.
func (u *Uploader) AbortStale(ctx context.Context, prefix string, keep map[string]string) (int, error) {
	n := 0
	for up := range u.client.ListIncompleteUploads(ctx, u.cfg.Bucket, "", true) {
		if up.Err != nil {
			return n, fmt.Errorf("list incomplete uploads: %w", up.Err)
		}
		if _, ok := keep[up.UploadID]; ok || !strings.HasPrefix(up.Key, prefix) {
			continue
		}
		err := u.core.AbortMultipartUpload(ctx, u.cfg.Bucket, up.Key, up.UploadID)
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			return n, fmt.Errorf("abort stale upload of %s: %w", up.Key, err)
		}
		u.log.Info().Str("key", up.Key).Msg("aborted a stale multipart upload")
		n++
	}
	return n, nil
}
