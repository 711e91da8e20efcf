package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// maxBody bounds every request body.
const maxBody = 64 << 10

// apiError is the JSON body of every API error.
type apiError struct {
	Error       string      `json:"error"`
	Message     string      `json:"message"`
	Description string      `json:"error_description,omitempty"` // RFC 6749 spelling, for OAuth clients
	Fields      FieldErrors `json:"fields,omitempty"`
	TriesLeft   *int        `json:"tries_left,omitempty"`
	RetryAfter  int         `json:"retry_after,omitempty"` // seconds
	Interval    int         `json:"interval,omitempty"`    // slow_down: the new polling interval
}

func (h *handler) routesAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/signup", h.apiSignup)
	mux.HandleFunc("POST /api/v1/signup/verify", h.apiSignupVerify)
	mux.HandleFunc("POST /api/v1/signup/resend", h.apiSignupResend)
	mux.HandleFunc("POST /api/v1/signup/password", h.apiSignupPassword)
	mux.HandleFunc("GET /api/v1/captcha", h.apiCaptcha)
	mux.HandleFunc("POST /api/v1/signin", h.apiSignin)
	mux.HandleFunc("POST /api/v1/signin/verify", h.apiSigninVerify)
	mux.HandleFunc("POST /api/v1/device/authorize", h.apiDeviceAuthorize)
	mux.HandleFunc("POST /api/v1/token", h.apiToken)
	mux.HandleFunc("POST /api/v1/revoke", h.apiRevoke)
	mux.HandleFunc("GET /api/v1/me", h.apiMe)
}

// decode reads a JSON body strictly; it writes the error and returns false
// when the body is too big, malformed, or has unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "too_large",
			Message: fmt.Sprintf("The request body is larger than %d KiB.", maxBody>>10)})
		return false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_json", Message: "The request body is not valid JSON for this call: " + jsonProblem(err)})
		return false
	}
	return true
}

func jsonProblem(err error) string {
	if errors.Is(err, io.EOF) {
		return "it is empty"
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail writes err as JSON: the service's errors with their status, field
// errors as 400, anything else as 500 without details.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var fe FieldErrors
	switch {
	case errors.As(err, &e):
		body := apiError{Error: e.Code, Message: e.Message, Description: e.Message, RetryAfter: int(e.RetryAfter.Seconds())}
		if e.Code == "wrong_code" {
			body.TriesLeft = &e.TriesLeft
		}
		if e.Code == "slow_down" {
			body.Interval = int(e.RetryAfter.Seconds())
			body.RetryAfter = 0
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds())))
		}
		writeJSON(w, e.Status, body)
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_fields", Message: "Some fields need a look.", Fields: fe})
	default:
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "server_error", Message: "Something went wrong on our side: try again."})
	}
}

// clientIP is the address throttling counts: the peer's, or, when the peer
// is a trusted proxy, the right-most X-Forwarded-For address that is not.
func (h *handler) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !h.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err == nil && !h.trusted(hop) {
			return hop
		}
	}
	return host
}

func (h *handler) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func (h *handler) apiSignup(w http.ResponseWriter, r *http.Request) {
	var req SignupRequest
	if !decode(w, r, &req) {
		return
	}
	id, err := h.svc.StartSignup(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, _, _ := h.svc.SignupAddress(r.Context(), id)
	writeJSON(w, http.StatusOK, map[string]string{"signup_id": id, "sent_to": to})
}

func (h *handler) apiSignupVerify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SignupID string `json:"signup_id"`
		PIN      string `json:"pin"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.VerifySignup(r.Context(), req.SignupID, req.PIN); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"verified": true})
}

func (h *handler) apiSignupResend(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SignupID string `json:"signup_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.ResendSignup(r.Context(), req.SignupID); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"sent": true})
}

func (h *handler) apiSignupPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SignupID string `json:"signup_id"`
		Password string `json:"password"`
		Confirm  string `json:"confirm"`
	}
	if !decode(w, r, &req) {
		return
	}
	id, err := h.svc.FinishSignup(r.Context(), req.SignupID, req.Password, req.Confirm)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"account_id": id})
}

func (h *handler) apiCaptcha(w http.ResponseWriter, r *http.Request) {
	id := h.svc.NewCaptcha()
	writeJSON(w, http.StatusOK, map[string]string{"captcha_id": id, "image_url": h.cfg.Issuer + "/captcha/" + id + ".png"})
}

func (h *handler) apiSignin(w http.ResponseWriter, r *http.Request) {
	var req SigninRequest
	if !decode(w, r, &req) {
		return
	}
	req.IP = h.clientIP(r)
	c, err := h.svc.StartSignin(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *handler) apiSigninVerify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ChallengeID string `json:"challenge_id"`
		Code        string `json:"code"`
		ClientID    string `json:"client_id"`
		DeviceName  string `json:"device_name"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.ClientID != h.cfg.ClientID {
		h.fail(w, r, ErrInvalidClient)
		return
	}
	if req.DeviceName == "" || len(req.DeviceName) > 64 {
		h.fail(w, r, FieldErrors{"device_name": "Give the device a name of 1 to 64 characters."})
		return
	}
	account, err := h.svc.VerifySignin(r.Context(), req.ChallengeID, req.Code, h.clientIP(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tokens, err := h.svc.Connect(r.Context(), account, req.ClientID, req.DeviceName)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

func (h *handler) apiDeviceAuthorize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID   string `json:"client_id"`
		DeviceName string `json:"device_name"`
	}
	if !decode(w, r, &req) {
		return
	}
	d, err := h.svc.AuthorizeDevice(r.Context(), req.ClientID, req.DeviceName)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// Grant types of the token endpoint.
const (
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefresh    = "refresh_token"
)

func (h *handler) apiToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		DeviceCode   string `json:"device_code,omitempty"`
		RefreshToken string `json:"refresh_token,omitempty"`
	}
	if !decode(w, r, &req) {
		return
	}
	var tokens Tokens
	var err error
	switch req.GrantType {
	case grantDeviceCode:
		tokens, err = h.svc.PollDevice(r.Context(), req.ClientID, req.DeviceCode)
	case grantRefresh:
		tokens, err = h.svc.Refresh(r.Context(), req.ClientID, req.RefreshToken)
	default:
		err = &Error{Code: "unsupported_grant_type", Status: 400,
			Message: "grant_type must be " + grantDeviceCode + " or " + grantRefresh + "."}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

func (h *handler) apiRevoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.Revoke(r.Context(), req.Token); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
}

// apiMe describes the bearer of an access token.
func (h *handler) apiMe(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var c accessClaims
	if !ok || h.svc.keys.Verify(token, &c) != nil ||
		c.Claims.ValidateWithLeeway(jwtExpected(h.cfg.Issuer, h.cfg.ClientID, time.Now()), 0) != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "invalid_token", Message: "The access token is missing, expired or not valid."})
		return
	}
	dev, err := h.svc.store.Device(r.Context(), c.DeviceID)
	if err != nil || dev.Revoked {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "invalid_token", Message: "This device was disconnected."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account_id": c.Subject, "device": c.Device, "device_id": c.DeviceID,
		"expires": c.Expiry.Time()})
}
