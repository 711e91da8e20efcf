package uploader

import (
	"context"
	"fmt"
	"os"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/journal"
)

// maxCopySize is the largest object a single CopyObject may copy; bigger
// ones are copied part by part (ComposeObject).
const maxCopySize = 5 << 30

// copyStored stores the file by a server-side copy of job.CopyFrom when the
// file's SHA-256 is the one stored there: a renamed or moved file is not
// sent again. It reports false, with no error, when the upload must go on
// the usual way.
func (u *Uploader) copyStored(ctx context.Context, f *os.File, id journal.Identity, job Job) (Result, bool, error) {
	d, err := hashFile(f, id.Size)
	if err != nil {
		return Result{}, false, err
	}
	if d.sha256 != job.CopyFrom.SHA256 {
		return Result{}, false, nil
	}
	opts := u.putOptions(id, d.sha256, job.Key)
	dst := minio.CopyDestOptions{Bucket: u.cfg.Bucket, Object: job.Key, ReplaceMetadata: true,
		UserMetadata: opts.UserMetadata, ContentType: opts.ContentType}
	src := minio.CopySrcOptions{Bucket: u.cfg.Bucket, Object: job.CopyFrom.Key}
	var info minio.UploadInfo
	err = u.do(ctx, "copy "+job.CopyFrom.Key, func() (err error) {
		if id.Size > maxCopySize {
			info, err = u.client.ComposeObject(ctx, dst, src)
		} else {
			info, err = u.client.CopyObject(ctx, dst, src)
		}
		return err
	})
	if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" {
		return Result{}, false, nil // the old copy is gone: upload
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("copy %s to %s: %w", job.CopyFrom.Key, job.Key, err)
	}
	progress(job, id.Size)
	u.log.Debug().Str("from", job.CopyFrom.Key).Str("key", job.Key).Msg("copied on the server")
	return Result{Identity: id, Key: job.Key, ETag: info.ETag, SHA256: d.sha256, Copied: true}, true, nil
}
