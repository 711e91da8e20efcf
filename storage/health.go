package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
)

// Health follows whether the storage answers: it is unreachable from the
// first request that fails for want of an answer (a refused or cut
// connection, a timeout, a 5xx) until the next one that gets an answer.
// A Health is safe for concurrent use; its zero value is reachable.
type Health struct {
	endpoint string
	mu       sync.Mutex
	since    time.Time // the first failure; zero while reachable
	last     string    // the last failure, short
	log      *zerolog.Logger
	downMsg  string
	onDown   func()
}

// NewHealth returns the health of the storage at endpoint (a host:port or
// a URL, for messages).
func NewHealth(endpoint string) *Health { return &Health{endpoint: endpoint} }

// DownMessage is what Report logs, by default, when the storage stops
// answering.
const DownMessage = "storage unreachable; uploads wait for it (see `cloudkeep status`)"

// Logging makes Report log, to log, when the storage stops answering (with
// down as the message) and when it answers again. Call it before h is
// used. It returns h.
func (h *Health) Logging(log zerolog.Logger, down string) *Health {
	h.log, h.downMsg = &log, down
	return h
}

// OnDown makes Report call f each time the storage stops answering.
func (h *Health) OnDown(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onDown = f
}

// Report records how a request ended (see Unreachable) and, when h logs,
// says so when the storage stops or starts answering again.
func (h *Health) Report(err error) {
	back, down := h.observe(err)
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
		h.log.Error().Str("endpoint", h.endpoint).Str("error", Short(err)).Msg(h.downMsg)
	case back > 0:
		h.log.Info().Str("endpoint", h.endpoint).Str("down_for", back.Round(time.Millisecond).String()).
			Msg("storage reachable again")
	}
}

// HealthStatus is a snapshot of a Health.
type HealthStatus struct {
	Endpoint  string    `json:"endpoint"`
	Reachable bool      `json:"reachable"`
	Since     time.Time `json:"since,omitzero"`       // unreachable since then
	LastError string    `json:"last_error,omitempty"` // why, short and without secrets
}

// Status returns the current state. A nil Health is reachable.
func (h *Health) Status() HealthStatus {
	if h == nil {
		return HealthStatus{Reachable: true}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return HealthStatus{Endpoint: h.endpoint, Reachable: h.since.IsZero(), Since: h.since, LastError: h.last}
}

// observe records how a request ended: err nil or an answer of the storage
// makes it reachable. It returns the time it had been unreachable when it
// just became reachable again, and whether it just became unreachable.
func (h *Health) observe(err error) (back time.Duration, down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !Unreachable(err) {
		if !h.since.IsZero() {
			back = max(time.Since(h.since), time.Nanosecond)
		}
		h.since, h.last = time.Time{}, ""
		return back, false
	}
	h.last = Short(err)
	if h.since.IsZero() {
		h.since = time.Now()
		return 0, true
	}
	return 0, false
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
	return fmt.Sprintf("storage at %s unreachable for %s, giving up: %s", e.Endpoint, e.For.Round(time.Second), e.LastError)
}

// UnreachableFor returns an *UnreachableError when the storage has been
// unreachable for at least limit, and nil otherwise.
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
