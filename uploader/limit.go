package uploader

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// limitBurst is the largest read the bandwidth limiter grants at once.
const limitBurst = 256 << 10

// newLimiter returns a limiter for bytesPerSecond, or nil for no limit.
func newLimiter(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bytesPerSecond), limitBurst)
}

// limitedReader paces reads through a shared limiter. It stays an
// io.Seeker so that minio-go can rewind it to retry a request.
type limitedReader struct {
	ctx context.Context
	r   io.ReadSeeker
	lim *rate.Limiter
}

func limitReader(ctx context.Context, r io.ReadSeeker, lim *rate.Limiter) io.ReadSeeker {
	if lim == nil {
		return r
	}
	return &limitedReader{ctx: ctx, r: r, lim: lim}
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if len(p) > limitBurst {
		p = p[:limitBurst]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := l.lim.WaitN(l.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (l *limitedReader) Seek(off int64, whence int) (int64, error) {
	return l.r.Seek(off, whence)
}

// bufferPool hands out at most n part buffers at a time, so that memory
// stays below n × part size however many files are in flight.
type bufferPool struct {
	free chan []byte
}

func newBufferPool(n int) *bufferPool {
	p := &bufferPool{free: make(chan []byte, n)}
	for range n {
		p.free <- nil // allocated on first use
	}
	return p
}

// get waits for a buffer of length size.
func (p *bufferPool) get(ctx context.Context, size int64) ([]byte, error) {
	select {
	case b := <-p.free:
		if int64(cap(b)) < size {
			b = make([]byte, size)
		}
		return b[:size], nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *bufferPool) put(b []byte) { p.free <- b }
