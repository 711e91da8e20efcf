// Package ratelimit paces readers to a bandwidth shared by all of them.
package ratelimit

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// Burst is the largest read granted at once.
const Burst = 256 << 10

// New returns a limiter for bytesPerSecond, or nil for no limit.
func New(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bytesPerSecond), Burst)
}

// Reader paces reads from r through lim (nil: r itself).
func Reader(ctx context.Context, r io.Reader, lim *rate.Limiter) io.Reader {
	if lim == nil {
		return r
	}
	return &reader{ctx: ctx, r: r, lim: lim}
}

// ReadSeeker is Reader for a body that must stay seekable, so that an S3
// client can rewind it to retry a request.
func ReadSeeker(ctx context.Context, rs io.ReadSeeker, lim *rate.Limiter) io.ReadSeeker {
	if lim == nil {
		return rs
	}
	return &readSeeker{reader{ctx: ctx, r: rs, lim: lim}, rs}
}

type reader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (l *reader) Read(p []byte) (int, error) {
	if len(p) > Burst {
		p = p[:Burst]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := l.lim.WaitN(l.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

type readSeeker struct {
	reader
	s io.Seeker
}

func (l *readSeeker) Seek(off int64, whence int) (int64, error) { return l.s.Seek(off, whence) }
