package storage

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestShort(t *testing.T) {
	long := "http://127.0.0.1:9000/photos/alice/laptop/pictures/" + strings.Repeat("x", 200) + ".jpg?X-Amz-Signature=abc"
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, Err: &syscallError{"connect", syscall.ECONNREFUSED}}
	reset := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 54321},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", fmt.Errorf("put a.jpg: %w", &url.Error{Op: "Put", URL: long, Err: refused}), "dial tcp 127.0.0.1:9000: connect: connection refused"},
		{"reset, without the local port", &url.Error{Op: "Put", URL: long, Err: reset}, "read tcp 127.0.0.1:9000: connection reset by peer"},
		{"EOF names the host", &url.Error{Op: "Put", URL: long, Err: errors.New("EOF")}, "127.0.0.1:9000: EOF"},
		{"an answer", fmt.Errorf("put a.jpg: %w", &S3Error{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}), "SlowDown: Please reduce your request rate."},
		{"minio-go's EOF", &url.Error{Op: "Put", URL: long, Err: errors.New("Connection closed by foreign host " + long + ". Retry again.")}, "127.0.0.1:9000: connection closed by the server"},
		{"a URL anywhere keeps its host only", errors.New("get " + long + ": bad"), "get 127.0.0.1:9000: bad"},
		{"long text is cut", errors.New(strings.Repeat("y", 300)), strings.Repeat("y", 199) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Short(tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

type syscallError struct {
	call string
	err  error
}

func (e *syscallError) Error() string { return e.call + ": " + e.err.Error() }
func (e *syscallError) Unwrap() error { return e.err }

func TestHealth_Observe(t *testing.T) {
	h := NewHealth("127.0.0.1:9000")
	down := &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/b/k", Err: syscall.ECONNREFUSED}
	for _, step := range []struct {
		err       error
		reachable bool
	}{
		{nil, true},
		{ErrNotFound, true}, // an answer
		{&PermanentError{errors.New("read /x: EIO")}, true}, // not the storage's
		{down, false},
		{down, false},
		{&S3Error{Status: 503, Code: "ServiceUnavailable"}, false},
		{&S3Error{Status: 403, Code: "AccessDenied"}, true},
	} {
		h.observe(step.err)
		if got := h.Status(); got.Reachable != step.reachable {
			t.Fatalf("after %v: reachable %v, want %v", step.err, got.Reachable, step.reachable)
		}
	}
	h.observe(down)
	since := h.Status().Since
	if err := h.UnreachableFor(time.Hour); err != nil {
		t.Errorf("unreachable for an hour already: %v", err)
	}
	err := h.UnreachableFor(0)
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Since != since || !strings.HasPrefix(err.Error(), "storage at 127.0.0.1:9000 unreachable for 0s, giving up: ") {
		t.Errorf("got %v, want an *UnreachableError since %s", err, since)
	}
}
