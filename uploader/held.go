package uploader

import (
	"bytes"
	"errors"
	"sync"
)

// errReleased is what a request body answers once its request is over.
var errReleased = errors.New("request body read after its request ended")

// heldBody is a request body over a buffer that goes back to a pool once
// its request is over. An HTTP transport may go on reading a body after the
// request has returned (it was cancelled, or the server answered before it
// read it all): release makes every later read fail, and waits for one
// under way, so that nothing reads the buffer once another file fills it.
type heldBody struct {
	mu       sync.Mutex
	r        bytes.Reader
	released bool
}

func newHeldBody(buf []byte) *heldBody {
	h := &heldBody{}
	h.r.Reset(buf)
	return h
}

func (h *heldBody) Read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return 0, errReleased
	}
	return h.r.Read(p)
}

func (h *heldBody) Seek(offset int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return 0, errReleased
	}
	return h.r.Seek(offset, whence)
}

// release ends the body's reads; the buffer may be reused once it returns.
func (h *heldBody) release() {
	h.mu.Lock()
	h.released = true
	h.mu.Unlock()
}
