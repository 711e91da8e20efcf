package uploader

import (
	"context"
	"errors"

	"github.com/cloudkeep/cloudkeep/storage"
)

// AbortDeleted aborts the multipart uploads of files the Store records as
// deleted (gone from disk, moved away) and forgets them, and returns how
// many it aborted. It stops at the first error; what is left is tried
// again on the next call.
func (u *Uploader) AbortDeleted(ctx context.Context) (int, error) {
	ups, err := u.store.DeletedUploads(ctx)
	if err != nil {
		return 0, err
	}
	for i, up := range ups {
		if err := u.st.Abort(ctx, up.Key, up.UploadID); err != nil {
			return i, err
		}
		if err := u.store.EndMultipart(ctx, up.FileID); err != nil {
			return i, err
		}
		u.log.Info().Str("key", up.Key).Msg("aborted the upload of a file that is gone")
	}
	return len(ups), nil
}

// AbortStale aborts the incomplete multipart uploads under prefix whose
// upload ids are not in keep (the journal's in-flight uploads), and returns
// how many it aborted. They are left over from a crash before the journal
// recorded them, or from a journal that was deleted.
func (u *Uploader) AbortStale(ctx context.Context, prefix string, keep map[string]string) (int, error) {
	ups, err := u.st.ListUploads(ctx, prefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, up := range ups {
		if _, ok := keep[up.UploadID]; ok {
			continue
		}
		if err := u.st.Abort(ctx, up.Key, up.UploadID); err != nil {
			return n, err
		}
		u.log.Info().Str("key", up.Key).Msg("aborted a stale multipart upload")
		n++
	}
	return n, nil
}

// Probe asks the storage about key, which need not exist: nil when the
// storage answers (the object there or not), the error otherwise.
func (u *Uploader) Probe(ctx context.Context, key string) error {
	_, err := u.st.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
