package uploader

import (
	"context"
	"errors"
	"os"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

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
	obj, err := u.st.Copy(ctx, job.Key, job.CopyFrom.Key, "", u.meta(id, d.sha256, job.Key))
	if errors.Is(err, storage.ErrNotFound) {
		return Result{}, false, nil // the old copy is gone: upload
	}
	if err != nil {
		return Result{}, false, err
	}
	progress(job, id.Size)
	u.log.Debug().Str("from", job.CopyFrom.Key).Str("key", job.Key).Msg("copied on the server")
	return Result{Identity: id, Key: job.Key, ETag: obj.ETag, SHA256: d.sha256, Copied: true}, true, nil
}
