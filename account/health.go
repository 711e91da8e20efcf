package account

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// healthTimeout bounds the store's answer to a health check.
const healthTimeout = 2 * time.Second

// retryLater is the Retry-After of a server error: the store may be back
// by then.
const retryLater = 5 * time.Second

// pinger is a store that can tell whether it answers.
type pinger interface {
	// Ping makes one cheap round trip to the store.
	Ping(ctx context.Context) error
}

// Ping makes one round trip to the database on a connection of the pool.
func (s *Postgres) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Ping checks that the database file can be reached.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// healthz answers 200 {"status":"ok"} when the store answers within
// healthTimeout, else 503 {"status":"unavailable","reason":…}, so that a
// load balancer takes this replica out while its store does not answer.
// The reason never holds the store's address or password.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	p, ok := h.svc.store.(pinger)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		h.log.Warn().Err(err).Msg("health check: the accounts database does not answer")
		w.Header().Set("Retry-After", strconv.Itoa(int(retryLater.Seconds())))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable",
			"reason": "accounts database: " + healthReason(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// healthReason says why the store did not answer, without the details of
// a connection error, which name the server and the user.
func healthReason(err error) string {
	var pgErr *pgconn.PgError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return "no answer within " + healthTimeout.String()
	case errors.As(err, &pgErr):
		return pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	case errors.As(err, &opErr) && opErr.Err != nil:
		return "cannot connect: " + opErr.Err.Error()
	}
	return "no answer"
}

// storeUnavailable reports whether err means the store could not be
// reached or dropped the connection: the request may succeed when
// retried, so it is answered 503 rather than 500.
func storeUnavailable(err error) bool {
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		return pgErrUnavailable(pgErr.Code)
	}
	return false
}

// pgErrUnavailable reports whether a PostgreSQL error code says the
// server cannot serve now: a connection exception (class 08), a shutdown
// or a restart (57P01 to 57P03), too many connections (53300), or the
// database gone (3D000).
func pgErrUnavailable(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300", "3D000":
		return true
	}
	return len(code) == 5 && code[:2] == "08"
}
