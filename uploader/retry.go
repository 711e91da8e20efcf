package uploader

import (
	"github.com/cloudkeep/cloudkeep/storage"
)

// PermanentError is an error that trying again will not fix: access
// denied, a missing bucket, an unreadable file.
type PermanentError = storage.PermanentError

// IsPermanent reports whether err should not be retried.
func IsPermanent(err error) bool { return storage.IsPermanent(err) }
