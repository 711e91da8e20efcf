package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/repeatlog"
)

// Server is one server on the way to the storage: the storage itself, or,
// in account mode, the account service that grants its requests.
type Server struct {
	Name     string // "storage" or "account service"
	Endpoint string // host:port or URL, for messages
}

// The names of the servers a Health follows.
const (
	NameStorage        = "storage"
	NameAccountService = "account service"
)

// Health follows whether the storage answers: a server on the way to it
// is unreachable from the first request to it that fails for want of an
// answer (a refused or cut connection, a timeout, a 5xx) until the next
// one that gets an answer; the storage is reachable while every server
// is. A Health is safe for concurrent use.
type Health struct {
	server  Server // what Report is about
	mu      sync.Mutex
	down    []outage // the servers that do not answer, by when they stopped
	log     *zerolog.Logger
	repeats *repeatlog.Limiter
	advice  string
	onDown  func()
}

// outage is a server that does not answer.
type outage struct {
	Server
	since time.Time // when the first request it did not answer began to wait
	last  string    // the last failure, short
}

// NewHealth returns the health of the storage at endpoint (a host:port or
// a URL, for messages).
func NewHealth(endpoint string) *Health { return NewServerHealth(Server{NameStorage, endpoint}) }

// NewServerHealth returns a Health whose Report is about s.
func NewServerHealth(s Server) *Health { return &Health{server: s} }

// DownAdvice is what the agent says, by default, to do about a server
// that stopped answering.
const DownAdvice = "uploads wait for it (see `cloudkeep status`)"

// DownMessage is what Report logs, by default, when the storage stops
// answering.
const DownMessage = NameStorage + " unreachable; " + DownAdvice

// Logging makes h log, to log, when a server stops answering ("NAME
// unreachable; advice") and when it answers again; the same line repeated
// is logged once, then counted once a minute. Call it before h is used.
// It returns h.
func (h *Health) Logging(log zerolog.Logger, advice string) *Health {
	h.log, h.advice, h.repeats = &log, advice, repeatlog.New(log, time.Minute)
	return h
}

// OnDown makes h call f each time a server stops answering.
func (h *Health) OnDown(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onDown = f
}

// Report records how a request to h's own server ended (see Unreachable).
// A nil Health records nothing.
func (h *Health) Report(err error) {
	if h != nil {
		h.ReportAt(h.server, time.Now(), err)
	}
}

// ReportAt records how a request to s ended; a failure counts from since,
// when the request began to wait for the answer it did not get. When h
// logs, it says so when s stops or starts answering again.
func (h *Health) ReportAt(s Server, since time.Time, err error) {
	back, down := h.observe(s, since, err)
	h.mu.Lock()
	onDown := h.onDown
	h.mu.Unlock()
	if down && onDown != nil {
		onDown()
	}
	if h.log == nil {
		return
	}
	switch {
	case down:
		msg := s.Name + " unreachable; " + h.advice
		h.repeats.Event(zerolog.ErrorLevel, msg).Str("endpoint", s.Endpoint).Str("error", Short(err)).Msg(msg)
	case back > 0:
		msg := s.Name + " reachable again"
		h.repeats.Event(zerolog.InfoLevel, msg).Str("endpoint", s.Endpoint).
			Str("down_for", back.Round(time.Millisecond).String()).Msg(msg)
	}
}

// HealthStatus is a snapshot of a Health.
type HealthStatus struct {
	Server    string    `json:"server,omitempty"` // what does not answer: "storage" or "account service"
	Endpoint  string    `json:"endpoint"`
	Reachable bool      `json:"reachable"`
	Since     time.Time `json:"since,omitzero"`       // unreachable since then
	LastError string    `json:"last_error,omitempty"` // why, short and without secrets
}

// Status returns the current state. While servers do not answer it names
// the storage when it is one of them (the account service waits for it
// too), else the account service, unreachable since the first of them
// stopped answering. A nil Health is reachable.
func (h *Health) Status() HealthStatus {
	if h == nil {
		return HealthStatus{Reachable: true}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.down) == 0 {
		return HealthStatus{Server: h.server.Name, Endpoint: h.server.Endpoint, Reachable: true}
	}
	o := h.down[0]
	if i := slices.IndexFunc(h.down, func(o outage) bool { return o.Name == NameStorage }); i > 0 {
		o = h.down[i]
	}
	return HealthStatus{Server: o.Name, Endpoint: o.Endpoint, Since: h.down[0].since, LastError: o.last}
}

// observe records how a request to s ended: err nil or an answer makes s
// reachable. It returns the time s had been unreachable when it just
// became reachable again, and whether it just became unreachable.
func (h *Health) observe(s Server, since time.Time, err error) (back time.Duration, down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.down, func(o outage) bool { return o.Server == s })
	if !Unreachable(err) {
		if i >= 0 {
			back = max(time.Since(h.down[i].since), time.Nanosecond)
			h.down = slices.Delete(h.down, i, i+1)
		}
		return back, false
	}
	if i < 0 {
		h.down = append(h.down, outage{Server: s, since: since})
		i, down = len(h.down)-1, true
	}
	h.down[i].last = Short(err)
	h.down[i].since = minTime(h.down[i].since, since)
	slices.SortStableFunc(h.down, func(a, b outage) int { return a.since.Compare(b.since) })
	return 0, down
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// UnreachableError ends the work that needs a storage that has not
// answered for too long.
type UnreachableError struct {
	HealthStatus
	For time.Duration // how long it had been unreachable
}

// NoAnswer is the error of a request that got no answer within d.
func NoAnswer(d time.Duration) error {
	return &TimeoutError{msg: fmt.Sprintf("no answer within %s", d.Round(time.Millisecond))}
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s at %s unreachable for %s, giving up: %s", cmp.Or(e.Server, NameStorage), e.Endpoint, e.For.Round(time.Second), e.LastError)
}

// UnreachableFor returns an *UnreachableError when a server on the way to
// the storage has been unreachable for at least limit, and nil otherwise.
func (h *Health) UnreachableFor(limit time.Duration) error {
	s := h.Status()
	if s.Reachable {
		return nil
	}
	if d := time.Since(s.Since); d >= limit {
		return &UnreachableError{HealthStatus: s, For: d}
	}
	return nil
}

// Unreachable reports whether err is a request that got no answer from
// the storage (or the account service that grants its requests): a
// connection refused, reset or cut, a timeout, or a 5xx answer.
func Unreachable(err error) bool {
	var pe *fs.PathError // a local file that could not be read
	if err == nil || errors.Is(err, ErrExpired) || errors.As(err, &pe) {
		return false
	}
	var ne net.Error
	var te *TimeoutError
	var s3 *S3Error
	var mr minio.ErrorResponse
	switch {
	case errors.As(err, &s3):
		return s3.Status >= 500
	case errors.As(err, &mr):
		return mr.StatusCode >= 500
	}
	return errors.As(err, &ne) || errors.As(err, &te) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// anyURL matches a URL in an error's text; only its host is kept.
var anyURL = regexp.MustCompile(`https?://([^/\s"]+)(?:[^\s"]*[^\s":.,])?`)

// withoutSource is a network error's text without the local address (an
// ephemeral port that differs on every connection): "read tcp
// 127.0.0.1:9000: read: connection reset by peer".
func withoutSource(err error) string {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Source == nil {
		return err.Error()
	}
	c := *oe
	c.Source = nil
	return c.Error()
}

// Short returns err's cause for a status line or a log field: the network
// error of a failed request without the request's URL (which names a key
// and may carry a signature), or the storage's answer; at most 200
// characters.
func Short(err error) string {
	var ue *url.Error
	var s3 *S3Error
	var mr minio.ErrorResponse
	var msg string
	switch {
	case errors.As(err, &ue):
		msg = withoutSource(ue.Err)
		if strings.HasPrefix(msg, "Connection closed by foreign host") || // minio-go's words for EOF
			msg == "http: server closed idle connection" {
			msg = "connection closed by the server"
		}
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" && !strings.Contains(msg, u.Host) {
			msg = u.Host + ": " + msg
		}
	case errors.As(err, &s3):
		msg = s3.Error()
	case errors.As(err, &mr) && mr.Code != "":
		msg = mr.Code + ": " + mr.Message
	default:
		msg = err.Error()
	}
	msg = anyURL.ReplaceAllString(msg, "$1")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:199]) + "…"
	}
	return msg
}
