package uploader

import (
	"context"
)

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
