package uploader

import (
	"context"
	"errors"
	"os"

	"golang.org/x/time/rate"

	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
	"github.com/cloudkeep/cloudkeep/journal"
)

// ErrHeld is what a gate (see Gate) returns when uploads stop while it
// holds them: the upload is not finished, nothing failed, and it resumes
// from its stored parts later.
var ErrHeld = errors.New("uploads held by a rule")

// Gate makes every part of a multipart upload ask allow before it is read
// and again before it is sent: allow blocks while uploads may not go, and
// returns an error (ctx's, or ErrHeld) when the upload is to stop. So an
// upload stops after the parts in flight and resumes where it stopped,
// sending no part twice. A single PUT is not stopped once begun. sent is
// told the bytes of each request the server acknowledged. Call Gate
// before the first Upload; either may be nil.
func (u *Uploader) Gate(allow func(ctx context.Context) error, sent func(n int64)) {
	u.allow, u.sent = allow, sent
}

// SetBandwidthLimit sets the bandwidth shared by all uploads, in bytes
// per second (0: none), from the next read on: an upload window may have
// its own. Safe to call while uploads run.
func (u *Uploader) SetBandwidthLimit(bytesPerSecond int64) {
	if bytesPerSecond <= 0 {
		u.limiter.SetLimit(rate.Inf)
		return
	}
	u.limiter.SetLimit(rate.Limit(bytesPerSecond))
}

// BandwidthLimit is the bandwidth in force, in bytes per second; 0: none.
func (u *Uploader) BandwidthLimit() int64 {
	if !u.limited() {
		return 0
	}
	return int64(u.limiter.Limit())
}

// newLimiter returns a limiter at bytesPerSecond, or without a limit (one
// may be set later).
func newLimiter(bytesPerSecond int64) *rate.Limiter {
	if l := ratelimit.New(bytesPerSecond); l != nil {
		return l
	}
	return rate.NewLimiter(rate.Inf, ratelimit.Burst)
}

// limited reports whether a bandwidth limit is in force.
func (u *Uploader) limited() bool { return u.limiter.Limit() != rate.Inf }

// mayGo waits until the gate lets a part of the file at path go. The
// file may have changed while a rule held its upload: then the upload
// stops at once (ErrChanged) and starts over, rather than sending parts
// of the new content into the upload of the old.
func (u *Uploader) mayGo(ctx context.Context, path string, id journal.Identity) error {
	if u.allow == nil {
		return ctx.Err()
	}
	if err := u.allow(ctx); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil || !journal.IdentityOf(fi).Equal(id) {
		return ErrChanged
	}
	return nil
}

// acked counts n bytes the server acknowledged for job.
func (u *Uploader) acked(job Job, n int64) {
	job.sent.Add(n)
	if u.sent != nil {
		u.sent(n)
	}
}
