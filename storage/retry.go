package storage

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/repeatlog"
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

// Do calls fn until it succeeds, fails permanently (IsPermanent), ctx ends
// or the attempts run out, and returns its last error. An ErrExpired is
// tried again at once, without counting as an attempt, once in a row.
func (b Backoff) Do(ctx context.Context, log zerolog.Logger, op string, fn func() error) error {
	return b.do(ctx, log, nil, op, fn)
}

// do is Do; repeats, when not nil, collapses identical warnings.
func (b Backoff) do(ctx context.Context, log zerolog.Logger, repeats *repeatlog.Limiter, op string, fn func() error) error {
	delay := max(b.Base, time.Millisecond)
	renewed := false
	for attempt := 1; ; attempt++ {
		err := innerTimeout(ctx, fn())
		if errors.Is(err, ErrExpired) && !renewed && ctx.Err() == nil {
			renewed = true
			attempt--
			log.Info().Str("op", op).Msg("storage grant expired; asking again")
			continue
		}
		renewed = false
		if err == nil || IsPermanent(err) || attempt >= b.Attempts || ctx.Err() != nil {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: half to full delay
		warn := log.Warn()
		if repeats != nil {
			key := "retrying: " + Short(err)
			if Unreachable(err) { // one key for the many ways a connection fails
				key = "retrying: the storage does not answer"
			}
			warn = repeats.Event(zerolog.WarnLevel, key)
		}
		warn.Str("error", Short(err)).Str("op", op).Int("attempt", attempt).Str("retry_in", wait.Round(time.Millisecond).String()).Msg("retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, max(b.Cap, b.Base))
	}
}

// TimeoutError is a deadline that ran out inside a call (a grant call the
// account service did not answer in time, an HTTP client timeout) while
// the caller's context was still alive. Trying again may help. It does not
// unwrap to the context error, so that nobody takes it for the caller's
// own cancellation.
type TimeoutError struct{ msg string }

func (e *TimeoutError) Error() string { return e.msg }

// innerTimeout turns a context error that is not ctx's own into a
// *TimeoutError; other errors pass unchanged.
func innerTimeout(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrExpired) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &TimeoutError{msg: err.Error()}
	}
	return err
}

// Retry wraps a Storage: every call is tried again with Backoff on errors
// that may go away, and at once after an expired grant or credential.
// Identical warnings are logged once, then counted once a minute; Health
// follows whether the storage answers.
type Retry struct {
	Storage
	Backoff Backoff
	Log     zerolog.Logger
	OnRetry func()  // told of each call tried again (a metric); may be nil
	Health  *Health // told how each call ended; nil when the transport tells it (ReportingTo, Granted.ReportTo)
	repeats *repeatlog.Limiter
}

// WithRetry wraps s with b; onRetry may be nil.
func WithRetry(s Storage, b Backoff, log zerolog.Logger, onRetry func()) *Retry {
	if b.Attempts < 1 {
		b = DefaultBackoff
	}
	log = log.With().Str("component", "storage").Logger()
	return &Retry{Storage: s, Backoff: b, Log: log, OnRetry: onRetry, Health: NewHealth("").Logging(log, DownAdvice), repeats: repeatlog.New(log, time.Minute)}
}

func (r *Retry) do(ctx context.Context, op string, fn func() error) error {
	calls := 0
	return r.Backoff.do(ctx, r.Log, r.repeats, op, func() error {
		if calls++; calls > 1 && r.OnRetry != nil {
			r.OnRetry()
		}
		err := fn()
		if ctx.Err() == nil {
			r.observe(err)
		}
		return err
	})
}

// observe updates Health with how a request ended; Health says when the
// storage stops or starts answering again.
func (r *Retry) observe(err error) { r.Health.Report(err) }

// Put retries, sending the body from its start each time.
func (r *Retry) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (o Object, err error) {
	err = r.do(ctx, "put "+key, func() (err error) {
		if _, err = body.Seek(0, io.SeekStart); err != nil {
			return err
		}
		o, err = r.Storage.Put(ctx, key, body, size, crc32c, meta)
		return err
	})
	return o, err
}

// PutNew retries like Put; ErrExists is an answer, not retried.
func (r *Retry) PutNew(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (o Object, err error) {
	err = r.do(ctx, "put "+key, func() (err error) {
		if _, err = body.Seek(0, io.SeekStart); err != nil {
			return err
		}
		o, err = r.Storage.PutNew(ctx, key, body, size, crc32c, meta)
		return err
	})
	return o, err
}

// Create retries.
func (r *Retry) Create(ctx context.Context, key string, size int64, meta Meta) (id string, err error) {
	err = r.do(ctx, "begin "+key, func() (err error) {
		id, err = r.Storage.Create(ctx, key, size, meta)
		return err
	})
	return id, err
}

// PutPart retries, sending the part from its start each time.
func (r *Retry) PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (p Part, err error) {
	err = r.do(ctx, "part of "+key, func() (err error) {
		if _, err = body.Seek(0, io.SeekStart); err != nil {
			return err
		}
		p, err = r.Storage.PutPart(ctx, key, uploadID, number, body, size, crc32c)
		return err
	})
	return p, err
}

// ListParts retries.
func (r *Retry) ListParts(ctx context.Context, key, uploadID string) (ps []Part, err error) {
	err = r.do(ctx, "list parts of "+key, func() (err error) {
		ps, err = r.Storage.ListParts(ctx, key, uploadID)
		return err
	})
	return ps, err
}

// Complete retries.
func (r *Retry) Complete(ctx context.Context, key, uploadID string, parts []Part) (o Object, err error) {
	err = r.do(ctx, "complete "+key, func() (err error) {
		o, err = r.Storage.Complete(ctx, key, uploadID, parts)
		return err
	})
	return o, err
}

// CompleteNew retries like Complete; ErrExists is an answer, not retried.
func (r *Retry) CompleteNew(ctx context.Context, key, uploadID string, parts []Part) (o Object, err error) {
	err = r.do(ctx, "complete "+key, func() (err error) {
		o, err = r.Storage.CompleteNew(ctx, key, uploadID, parts)
		return err
	})
	return o, err
}

// Abort retries.
func (r *Retry) Abort(ctx context.Context, key, uploadID string) error {
	return r.do(ctx, "abort "+key, func() error { return r.Storage.Abort(ctx, key, uploadID) })
}

// ListUploads retries.
func (r *Retry) ListUploads(ctx context.Context, prefix string) (us []Upload, err error) {
	err = r.do(ctx, "list uploads "+prefix, func() (err error) {
		us, err = r.Storage.ListUploads(ctx, prefix)
		return err
	})
	return us, err
}

// Stat retries: a transient error must not make a stored object look
// missing.
func (r *Retry) Stat(ctx context.Context, key string) (o Object, err error) {
	err = r.do(ctx, "stat "+key, func() (err error) {
		o, err = r.Storage.Stat(ctx, key)
		return err
	})
	return o, err
}

// Get retries opening the object; a read that fails later is the caller's
// to resume from where it stopped.
func (r *Retry) Get(ctx context.Context, key string, offset int64) (rc io.ReadCloser, err error) {
	err = r.do(ctx, "get "+key, func() (err error) {
		rc, err = r.Storage.Get(ctx, key, offset)
		return err
	})
	return rc, err
}

// List retries a listing that fails before fn has seen an object, and
// resumes after the last object seen otherwise.
func (r *Retry) List(ctx context.Context, prefix string, fn func(Object) error) error {
	return r.list(ctx, prefix, r.Storage.List, fn)
}

// ListKeys retries, from where it stopped, the inner storage's ListKeys,
// or its List when it has none.
func (r *Retry) ListKeys(ctx context.Context, prefix string, fn func(Object) error) error {
	if kl, ok := r.Storage.(KeyLister); ok {
		return r.list(ctx, prefix, kl.ListKeys, fn)
	}
	return r.List(ctx, prefix, fn)
}

func (r *Retry) list(ctx context.Context, prefix string, list func(context.Context, string, func(Object) error) error, fn func(Object) error) error {
	last := ""
	var fnErr error
	err := r.do(ctx, "list "+prefix, func() error {
		return list(ctx, prefix, func(o Object) error {
			if o.Key <= last {
				return nil // seen before a retry
			}
			if fnErr = fn(o); fnErr != nil {
				return &PermanentError{fnErr}
			}
			last = o.Key
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Copy retries.
func (r *Retry) Copy(ctx context.Context, dst, src, srcETag string, meta Meta) (o Object, err error) {
	err = r.do(ctx, "copy "+src, func() (err error) {
		o, err = r.Storage.Copy(ctx, dst, src, srcETag, meta)
		return err
	})
	return o, err
}
