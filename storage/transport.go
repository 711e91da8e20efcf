package storage

import (
	"context"
	"net"
	"net/http"
	"time"
)

// DefaultRequestTimeout is how long a storage request may go without a
// byte moving either way before it is abandoned and tried again.
const DefaultRequestTimeout = time.Minute

// WithRequestTimeout makes t give up on a connection on which no byte has
// moved, either way, for timeout: a network that swallows packets or a
// server that stopped answering fails the request (a retryable error)
// instead of holding it forever. A long upload that keeps sending is never
// cut; time the server takes to answer counts. It returns t.
func WithRequestTimeout(t *http.Transport, timeout time.Duration) *http.Transport {
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, timeout: timeout}, nil
	}
	t.ResponseHeaderTimeout = timeout
	return t
}

// stallConn moves its deadline on before every read and every chunk
// written, so that it expires only after timeout without progress. A read
// waiting for the answer is pushed on by every write of the request's body.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

// stallChunk is how much one write may carry before the deadline moves on:
// small enough for a slow uplink to send within any sane timeout.
const stallChunk = 32 << 10

func (c *stallConn) Read(b []byte) (int, error) {
	c.Conn.SetDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(b)
}

func (c *stallConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		c.Conn.SetDeadline(time.Now().Add(c.timeout))
		n, err := c.Conn.Write(b[written:min(written+stallChunk, len(b))])
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// ReportingTo returns rt that reports to h how each request ended, as soon
// as it ends: a dial that fails or a request that times out makes the
// storage unreachable at once, without waiting for the retries of the
// client above; any answer below 500 makes it reachable. Requests whose
// own context ended are not counted: that is the caller's doing.
func ReportingTo(rt http.RoundTripper, h *Health) http.RoundTripper {
	return &reporting{rt: rt, health: h}
}

type reporting struct {
	rt     http.RoundTripper
	health *Health
}

func (r *reporting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	switch {
	case req.Context().Err() != nil:
	case err != nil:
		if Unreachable(err) {
			r.health.Report(err)
		}
	case resp.StatusCode < 500:
		r.health.Report(nil)
	}
	return resp, err
}
