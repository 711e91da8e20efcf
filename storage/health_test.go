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

	"github.com/rs/zerolog"
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
		h.Report(step.err)
		if got := h.Status(); got.Reachable != step.reachable {
			t.Fatalf("after %v: reachable %v, want %v", step.err, got.Reachable, step.reachable)
		}
	}
	h.Report(down)
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

// In account mode two servers stand between the device and its bucket:
// an answer of one does not make the other reachable, and the message
// names the one that stopped answering, from when it stopped.
func TestHealth_Servers(t *testing.T) {
	account := Server{NameAccountService, "http://127.0.0.1:19510"}
	store := Server{NameStorage, "127.0.0.1:19500"}
	h := NewServerHealth(account)
	stalled := time.Now().Add(-5 * time.Second)
	timeout := &url.Error{Op: "PUT", URL: "http://127.0.0.1:19500", Err: errors.New("net/http: timeout awaiting response headers")}
	h.ReportAt(store, stalled, &TimeoutError{msg: "no answer"})
	h.ReportAt(store, time.Now(), timeout)
	h.ReportAt(account, time.Now(), nil) // the service answers: the storage still does not
	s := h.Status()
	if s.Reachable || s.Server != NameStorage || s.Endpoint != store.Endpoint || !s.Since.Equal(stalled) {
		t.Fatalf("got %+v, want the storage at %s unreachable since %s", s, store.Endpoint, stalled)
	}
	err := h.UnreachableFor(5 * time.Second)
	if want := "storage at 127.0.0.1:19500 unreachable for 5s, giving up: 127.0.0.1:19500: net/http: timeout awaiting response headers"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	h.ReportAt(store, time.Now(), nil)
	h.Report(&url.Error{Op: "POST", URL: account.Endpoint + "/v1/grant", Err: syscall.ECONNREFUSED})
	if err := h.UnreachableFor(0); err == nil || !strings.HasPrefix(err.Error(), "account service at http://127.0.0.1:19510 unreachable for 0s, giving up: ") {
		t.Errorf("got %v, want the account service named", err)
	}
}

// A server that goes and comes back again and again (connections refused,
// then a grant held from before that works) is said to be unreachable
// once, and back once, and counted after that.
func TestHealth_LogsRepeatsOnce(t *testing.T) {
	var buf strings.Builder
	account := Server{NameAccountService, "http://127.0.0.1:19510"}
	h := NewServerHealth(account).Logging(zerolog.New(&buf), DownAdvice)
	refused := &url.Error{Op: "POST", URL: account.Endpoint, Err: syscall.ECONNREFUSED}
	for range 3 {
		h.Report(refused)
		h.Report(nil)
	}
	for msg, want := range map[string]int{
		`"message":"account service unreachable; ` + DownAdvice + `"`: 1,
		`"message":"account service reachable again"`:                 1,
		`"message":"storage`: 0,
	} {
		if n := strings.Count(buf.String(), msg); n != want {
			t.Errorf("%d lines with %s, want %d:\n%s", n, msg, want, buf.String())
		}
	}
}
