package uploader

import (
	"io"
	"sync/atomic"
)

// Progress counts bytes sent, not bytes read: a request body counts as
// the HTTP client takes it (after the bandwidth limit, so at the pace it
// goes out), a request that fails takes its bytes back, and parts or
// objects the server already holds count at once, in Job.Found. Job.Progress
// is called with each change, which may be negative.

// sending is a request body of size bytes that reports, through report,
// how far the HTTP client has read it. A client that rewinds the body to
// try again takes back what it had read. The last byte counts only once
// the server acknowledges the body, so a request never shows as done
// before it is.
type sending struct {
	io.ReadSeeker
	size   int64
	at     atomic.Int64 // the offset the client has read to
	report func(int64)
}

// newSending counts body, of size bytes, as it is read; report may be nil.
func newSending(body io.ReadSeeker, size int64, report func(int64)) *sending {
	if report == nil {
		report = func(int64) {}
	}
	return &sending{ReadSeeker: body, size: size, report: report}
}

// shown is what offset at counts for until the acknowledgement.
func (s *sending) shown(at int64) int64 { return min(at, max(s.size-1, 0)) }

func (s *sending) Read(p []byte) (int, error) {
	n, err := s.ReadSeeker.Read(p)
	if n > 0 {
		at := s.at.Add(int64(n))
		s.report(s.shown(at) - s.shown(at-int64(n)))
	}
	return n, err
}

func (s *sending) Seek(offset int64, whence int) (int64, error) {
	abs, err := s.ReadSeeker.Seek(offset, whence)
	if err == nil {
		s.report(s.shown(abs) - s.shown(s.at.Swap(abs)))
	}
	return abs, err
}

// acked settles the count at the size: the server holds the whole body.
func (s *sending) acked() { s.report(s.size - s.shown(s.at.Swap(s.size))) }

// failed takes back what was read of a request that did not succeed.
func (s *sending) failed() { s.report(-s.shown(s.at.Swap(0))) }

// tally passes progress on to fn and keeps the sum, so that an upload
// that starts over can take back all it had counted.
type tally struct {
	fn  func(int64)
	sum atomic.Int64
}

func (t *tally) add(n int64) {
	t.sum.Add(n)
	t.fn(n)
}

// takeBack reports the sum counted so far as undone.
func (t *tally) takeBack() {
	if n := t.sum.Swap(0); n != 0 {
		t.fn(-n)
	}
}
