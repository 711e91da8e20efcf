package uploader

import (
	"context"
	"errors"
	"os"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// FindCopy returns an object other than the job's that holds size bytes
// whose SHA-256 is sha256, with the ETag it had then (the copy happens
// only while the object still has it), or journal.ErrNotFound.
// (*journal.Journal).FindContent answers it in one query.
type FindCopy func(ctx context.Context, sha256 string, size int64) (journal.Source, error)

// copyStored stores the file by a server-side copy when job.FindCopy knows
// an object with its content: a renamed, moved, copied or restored file is
// not sent again. It reports false, with no error, when the upload must go
// on the usual way: nothing holds this content, that object is gone,
// changed or not ours to read, or the file has a multipart upload in
// flight, which resumes.
//
// The file's digest stays in job, so that the upload does not read the
// file again for it.
func (u *Uploader) copyStored(ctx context.Context, f *os.File, id journal.Identity, job *Job) (Result, bool, error) {
	if job.FindCopy == nil || id.Size == 0 {
		return Result{}, false, nil
	}
	if _, err := u.store.Multipart(ctx, job.FileID); !errors.Is(err, journal.ErrNotFound) {
		return Result{}, false, err // nil when an upload is in flight
	}
	d, err := hashFile(f, id.Size)
	if err != nil {
		return Result{}, false, err
	}
	job.hashed = &d
	src, err := job.FindCopy(ctx, d.sha256, id.Size)
	if errors.Is(err, journal.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	obj, err := u.st.Copy(ctx, job.Key, src.Key, src.ETag, u.meta(id, d.sha256, job.Key))
	var denied *storage.PermanentError
	if errors.Is(err, storage.ErrNotFound) || errors.As(err, &denied) {
		u.log.Debug().Err(err).Str("from", src.Key).Str("key", job.Key).Msg("cannot copy on the server; uploading")
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	found(*job, id.Size) // not sent: copied on the server
	u.log.Debug().Str("from", src.Key).Str("key", job.Key).Msg("copied on the server")
	return Result{Identity: id, Key: job.Key, ETag: obj.ETag, SHA256: d.sha256, Copied: true}, true, nil
}

// fileDigest returns the digest of the file f, of size bytes: the one
// copyStored read, or a new one.
func (job Job) fileDigest(f *os.File, size int64) (digest, error) {
	if job.hashed != nil {
		return *job.hashed, nil
	}
	return hashFile(f, size)
}
