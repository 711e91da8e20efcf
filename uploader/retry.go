package uploader

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
)

// Backoff retries an operation with capped, jittered exponential delays.
// minio-go already retries a request a few times within a second or two;
// Backoff is the slower outer loop that rides out a dead network.
type Backoff struct {
	Attempts int           // tries in all, at least 1
	Base     time.Duration // first delay
	Cap      time.Duration // longest delay
}

// DefaultBackoff rides out about two minutes of outage per operation.
var DefaultBackoff = Backoff{Attempts: 8, Base: time.Second, Cap: 30 * time.Second}

// PermanentError is an error that trying again will not fix: access
// denied, a missing bucket, an unreadable file.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err should not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	var marked interface{ Permanent() bool }
	if errors.As(err, &p) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &marked) && marked.Permanent()) {
		return true
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"InvalidBucketName", "InvalidArgument", "EntityTooSmall", "EntityTooLarge",
		"InvalidPart", "InvalidPartOrder", "NoSuchUpload", "XMinioInvalidObjectName",
		"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidRequest":
		return true
	}
	return resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest
}

// Do calls fn until it succeeds, fails permanently, ctx ends or the
// attempts run out, and returns its last error.
func (b Backoff) Do(ctx context.Context, log zerolog.Logger, op string, fn func() error) error {
	delay := b.Base
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || IsPermanent(err) || attempt >= b.Attempts || ctx.Err() != nil {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: half to full delay
		log.Warn().Err(err).Str("op", op).Int("attempt", attempt).Dur("retry_in", wait).Msg("retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, b.Cap)
	}
}

// credentialsExpired reports whether the server refused the request's
// temporary credentials as expired or unknown: renewing them may help.
func credentialsExpired(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "ExpiredToken", "InvalidAccessKeyId", "InvalidTokenId", "InvalidToken":
		return true
	}
	return false
}

// do runs fn with the Backoff, renewing the storage credentials once when
// the server says they expired (an STS session that ended mid-upload).
func (u *Uploader) do(ctx context.Context, op string, fn func() error) error {
	renewed, calls := false, 0
	return u.cfg.Backoff.Do(ctx, u.log, op, func() error {
		if calls++; calls > 1 && u.cfg.OnRetry != nil {
			u.cfg.OnRetry()
		}
		err := fn()
		if err != nil && !renewed && u.cfg.Renew != nil && credentialsExpired(err) {
			renewed = true
			u.log.Info().Str("op", op).Msg("storage credentials expired; renewing them")
			u.cfg.Renew()
			err = fn()
		}
		return err
	})
}
