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

// putLarge stores a file of the multipart threshold or more: by a copy
// (copyStored) unless it has a multipart upload in flight, which resumes,
// else in parts.
func (u *Uploader) putLarge(ctx context.Context, f *os.File, id journal.Identity, job Job) (Result, error) {
	if job.FindCopy != nil {
		_, err := u.store.Multipart(ctx, job.FileID)
		switch {
		case errors.Is(err, journal.ErrNotFound):
			d, err := u.digestOf(f, job.Path, id)
			if err != nil {
				return Result{}, err
			}
			job.hashed = &d // the upload does not read the file again for it
			key, etag, same, hold, err := u.place(ctx, job, id, d)
			if err != nil {
				return Result{}, err
			}
			job.Key, job.placed, job.hold = key, true, hold
			if same {
				found(job, id.Size)
				return Result{Identity: id, Key: key, ETag: etag, SHA256: d.sha256, Skipped: true}, nil
			}
			if res, ok, err := u.copyStored(ctx, id, job, d); ok || err != nil {
				return res, err
			}
		case err != nil:
			return Result{}, err
		}
	}
	return u.putMultipart(ctx, f, id, job)
}

// copyStored stores the file, whose digest is d, by a server-side copy
// when job.FindCopy knows an object with its content: a renamed, moved,
// copied or restored file is not sent again. It reports false, with no
// error, when the upload must go on the usual way: nothing holds this
// content, or that object is gone, changed or not ours to read.
//
// A key found free that other writers share is not copied to: the
// storages do not honour If-None-Match on a copy (MinIO, versitygw), so
// the copy could replace an object another device stored meanwhile. The
// file is sent with PutNew instead.
func (u *Uploader) copyStored(ctx context.Context, id journal.Identity, job Job, d digest) (Result, bool, error) {
	if job.FindCopy == nil || id.Size == 0 || job.ifAbsent() {
		return Result{}, false, nil
	}
	src, err := job.FindCopy(ctx, d.sha256, id.Size)
	if errors.Is(err, journal.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	obj, err := u.st.Copy(ctx, job.Key, src.Key, src.ETag, u.meta(job, id, d.sha256, job.Key))
	var denied *storage.PermanentError
	if errors.Is(err, storage.ErrNotFound) || errors.As(err, &denied) {
		u.log.Debug().Err(err).Str("from", src.Key).Str("key", job.Key).Msg("cannot copy on the server; uploading")
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	found(job, id.Size) // not sent: copied on the server
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
