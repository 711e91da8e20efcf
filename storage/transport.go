package storage

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
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
		sc := &stallConn{Conn: c, timeout: timeout}
		sc.progress(1)
		return sc, nil
	}
	t.ResponseHeaderTimeout = timeout
	return t
}

// stallConn moves its deadline on before every read and every chunk
// written, so that it expires only after timeout without progress. A read
// waiting for the answer is pushed on by every write of the request's body.
// It notes when a byte last moved, for ReportingTo.
type stallConn struct {
	net.Conn
	timeout time.Duration
	moved   atomic.Int64 // unix nanoseconds
}

// stallChunk is how much one write may carry before the deadline moves on:
// small enough for a slow uplink to send within any sane timeout.
const stallChunk = 32 << 10

func (c *stallConn) Read(b []byte) (int, error) {
	c.Conn.SetDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(b)
	if err == nil {
		c.progress(n)
	}
	return n, err
}

func (c *stallConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		c.Conn.SetDeadline(time.Now().Add(c.timeout))
		n, err := c.Conn.Write(b[written:min(written+stallChunk, len(b))])
		written += n
		if err != nil { // a part may have moved, at a time unknown
			return written, err
		}
		c.progress(n)
	}
	return written, nil
}

func (c *stallConn) progress(n int) {
	if n > 0 {
		c.moved.Store(time.Now().UnixNano())
	}
}

// lastMoved returns when a byte last moved on conn, when it is (or wraps,
// like a TLS connection) a stallConn.
func lastMoved(conn net.Conn) (time.Time, bool) {
	for conn != nil {
		if c, ok := conn.(*stallConn); ok {
			return time.Unix(0, c.moved.Load()), true
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		conn = w.NetConn()
	}
	return time.Time{}, false
}

// ReportingTo returns rt that reports to h how each request ended, as soon
// as it ends: a dial that fails or a request that times out makes the
// storage unreachable at once, without waiting for the retries of the
// client above; any answer below 500 makes it reachable. A request that
// got no answer counts from when it began, or from when the last byte
// moved on its connection (made by WithRequestTimeout) if that is later:
// a stall is found one request_timeout after it began. Requests whose
// own context ended are not counted, unless it ended with a *TimeoutError
// cause (a bound on one call): that is the caller's doing.
func ReportingTo(rt http.RoundTripper, h *Health) http.RoundTripper {
	return &reporting{rt: rt, health: h, server: func(*http.Request) Server { return h.server }}
}

type reporting struct {
	rt     http.RoundTripper
	health *Health
	server func(*http.Request) Server // the server a request goes to
}

func (r *reporting) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	var conn atomic.Pointer[net.Conn]
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn.Store(&i.Conn) }}
	resp, err := r.rt.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	since := func() time.Time {
		if c := conn.Load(); c != nil {
			if t, ok := lastMoved(*c); ok {
				return latest(start, t)
			}
		}
		return start
	}
	var bound *TimeoutError
	switch {
	case req.Context().Err() != nil:
		if errors.As(context.Cause(req.Context()), &bound) {
			r.health.ReportAt(r.server(req), since(), hostError(req, bound))
		}
	case err != nil:
		if Unreachable(err) {
			r.health.ReportAt(r.server(req), since(), hostError(req, err))
		}
	case resp.StatusCode < 500:
		r.health.ReportAt(r.server(req), start, nil)
	default:
		r.health.ReportAt(r.server(req), since(), &S3Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode)})
	}
	return resp, err
}

// hostError is err of req as the client returns it, naming the host only.
func hostError(req *http.Request, err error) error {
	return &url.Error{Op: req.Method, URL: req.URL.Scheme + "://" + req.URL.Host, Err: err}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
