package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// maxGrantBody bounds a grant request: MaxGrantOps ops, or one complete
// listing 10,000 parts.
const maxGrantBody = 4 << 20

// HandlerOption changes what NewHandler serves.
type HandlerOption func(*handler)

// WithGate serves the storage gate (wire.PathStorageGrant) and shows usage
// on the account page.
func WithGate(g *Gate) HandlerOption { return func(h *handler) { h.gate = g } }

// bodyLimit is the largest body a request may have.
func bodyLimit(r *http.Request) int64 {
	switch r.URL.Path {
	case wire.PathStorageGrant:
		return maxGrantBody
	case "/photos/download":
		return maxDownloadForm
	}
	return maxBody
}

func (h *handler) routesStorage(mux *http.ServeMux) {
	mux.HandleFunc("POST "+wire.PathStorageGrant, h.apiStorageGrant)
}

// bearer returns the verified claims of the request's access token and its
// device, read from the store on every call: a disconnected device is
// refused at once, whatever its token's lifetime. A token's signature is
// checked once (see verifiedTokens). Otherwise it writes 401
// invalid_token, or, when the store cannot tell, a server_error (see
// fail), and returns false.
func (h *handler) bearer(w http.ResponseWriter, r *http.Request) (accessClaims, Device, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	now := time.Now()
	var c accessClaims
	known := false
	keys := h.svc.keys.set.Load() // before the check: a reload meanwhile empties the cache
	if ok {
		c, known = h.tokens.get(token, keys, now)
	}
	if ok && !known && h.svc.keys.Verify(r.Context(), token, &c) != nil {
		ok = false
	}
	if !ok || c.Claims.ValidateWithLeeway(jwtExpected(h.cfg.Issuer, h.cfg.ClientID, now), 0) != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, wire.Error{Code: wire.ErrCodeInvalidToken, Message: "The access token is missing, expired or not valid."})
		return c, Device{}, false
	}
	if !known {
		h.tokens.put(token, c, keys, now)
	}
	dev, err := h.svc.store.Device(r.Context(), c.DeviceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		// The store did not answer: not a refusal, or the device would sign out.
		h.fail(w, r, fmt.Errorf("read device %s: %w", c.DeviceID, err))
		return c, Device{}, false
	}
	if err != nil || dev.Revoked || dev.AccountID != c.Subject {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, wire.Error{Code: wire.ErrCodeInvalidToken, Message: "This device was disconnected."})
		return c, Device{}, false
	}
	return c, dev, true
}

// quotaBody is the answer to a grant request refused for the quota: used
// is there even at 0 (uploads in progress may hold all of the quota),
// reserved when they hold some.
type quotaBody struct {
	wire.Error
	Used     int64 `json:"used"`               // bytes stored
	Reserved int64 `json:"reserved,omitempty"` // bytes held by uploads in progress
}

// apiStorageGrant is the storage gate: see wire.GrantRequest.
func (h *handler) apiStorageGrant(w http.ResponseWriter, r *http.Request) {
	_, dev, ok := h.bearer(w, r)
	if !ok {
		return
	}
	if h.gate == nil {
		writeJSON(w, http.StatusServiceUnavailable, wire.Error{Code: wire.ErrCodeStorage, Message: "This account service has no storage configured."})
		return
	}
	var req wire.GrantRequest
	if !decodeLimit(w, r, &req, maxGrantBody) {
		return
	}
	res, err := h.gate.Grant(r.Context(), Caller{AccountID: dev.AccountID, DeviceID: dev.ID, Device: dev.Name}, req)
	var qe *QuotaError
	switch {
	case errors.As(err, &qe):
		writeJSON(w, http.StatusForbidden, quotaBody{Error: wire.Error{Code: wire.ErrCodeQuotaExceeded, Message: qe.Error(), Quota: qe.Quota},
			Used: qe.Used, Reserved: qe.Reserved})
	case errors.Is(err, errBadRequest):
		writeJSON(w, http.StatusBadRequest, wire.Error{Code: wire.ErrCodeInvalidOp, Message: err.Error()})
	case err != nil:
		h.fail(w, r, fmt.Errorf("storage grant: %w", err))
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// usageText is the account's storage use for its page, or "" without a
// storage gate or when it cannot be read.
func (h *handler) usageText(ctx context.Context, accountID string) string {
	if h.gate == nil {
		return ""
	}
	u, err := h.gate.Usage(ctx, accountID)
	if err != nil {
		h.log.Warn().Err(err).Str("account", accountID).Msg("read usage")
		return ""
	}
	return UsageText(u)
}
