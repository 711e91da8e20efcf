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

	"github.com/dustin/go-humanize"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// maxBody bounds every request body.
const maxBody = 64 << 10

func (h *handler) routesAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST "+wire.PathSignup, h.apiSignup)
	mux.HandleFunc("POST "+wire.PathSignupVerify, h.apiSignupVerify)
	mux.HandleFunc("POST "+wire.PathSignupResend, h.apiSignupResend)
	mux.HandleFunc("POST "+wire.PathSignupPassword, h.apiSignupPassword)
	mux.HandleFunc("GET "+wire.PathCaptcha, h.apiCaptcha)
	mux.HandleFunc("POST "+wire.PathSignin, h.apiSignin)
	mux.HandleFunc("POST "+wire.PathSigninVerify, h.apiSigninVerify)
	mux.HandleFunc("POST "+wire.PathDeviceAuthorize, h.apiDeviceAuthorize)
	mux.HandleFunc("POST "+wire.PathToken, h.apiToken)
	mux.HandleFunc("POST "+wire.PathRevoke, h.apiRevoke)
	mux.HandleFunc("GET "+wire.PathMe, h.apiMe)
}

// decode reads a JSON body strictly; it writes the error and returns false
// when the body is too big, malformed, or has unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimit(w, r, v, maxBody)
}

// decodeLimit is decode with a body of at most limit bytes.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, wire.Error{Code: "too_large",
			Message: "The request body is larger than " + humanize.IBytes(uint64(limit)) + "."})
		return false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, wire.Error{Code: "invalid_json", Message: "The request body is not valid JSON for this call: " + jsonProblem(err)})
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

// fail writes err as a wire.Error: the service's errors with their status,
// field errors as 400, anything else as server_error without details and
// with a Retry-After: 503 when the store could not be reached, else 500.
// A client retries a server_error; it is never a refusal of its sign-in.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var fe FieldErrors
	switch {
	case errors.As(err, &e):
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds())))
		}
		writeJSON(w, e.Status, wireError(e))
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, wire.Error{Code: wire.ErrCodeInvalidFields, Message: "Some fields need a look.", Fields: fe})
	default:
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
		status := http.StatusInternalServerError
		if storeUnavailable(err) {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", fmt.Sprint(int(retryLater.Seconds())))
		writeJSON(w, status, wire.Error{Code: wire.ErrCodeServer, Message: "Something went wrong on our side: try again.",
			RetryAfter: int(retryLater.Seconds())})
	}
}

// wireError is the body of e: tries left only for a wrong code, the
// polling interval instead of a retry time for slow_down.
func wireError(e *Error) wire.Error {
	body := wire.Error{Code: e.Code, Message: e.Message, Description: e.Message, RetryAfter: int(e.RetryAfter.Seconds())}
	switch e.Code {
	case wire.ErrCodeWrongCode:
		left := e.TriesLeft
		body.TriesLeft = &left
	case wire.ErrCodeSlowDown:
		body.Interval, body.RetryAfter = body.RetryAfter, 0
	}
	return body
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
	var req wire.SignupRequest
	if !decode(w, r, &req) {
		return
	}
	sr := signupRequest(req)
	sr.IP = h.clientIP(r)
	id, err := h.svc.StartSignup(r.Context(), sr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, _, _ := h.svc.SignupAddress(r.Context(), id)
	writeJSON(w, http.StatusOK, wire.SignupResponse{SignupID: id, SentTo: to})
}

func (h *handler) apiSignupVerify(w http.ResponseWriter, r *http.Request) {
	var req wire.SignupVerifyRequest
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.VerifySignup(r.Context(), req.SignupID, req.PIN); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.SignupVerifyResponse{Verified: true})
}

func (h *handler) apiSignupResend(w http.ResponseWriter, r *http.Request) {
	var req wire.SignupResendRequest
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.ResendSignup(r.Context(), ResendRequest{ID: req.SignupID, CaptchaID: req.CaptchaID,
		Captcha: req.Captcha, IP: h.clientIP(r)}); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.SignupResendResponse{Sent: true})
}

func (h *handler) apiSignupPassword(w http.ResponseWriter, r *http.Request) {
	var req wire.SignupPasswordRequest
	if !decode(w, r, &req) {
		return
	}
	id, err := h.svc.FinishSignup(r.Context(), req.SignupID, req.Password, req.Confirm)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.SignupPasswordResponse{AccountID: id})
}

func (h *handler) apiCaptcha(w http.ResponseWriter, r *http.Request) {
	id := h.svc.NewCaptcha()
	writeJSON(w, http.StatusOK, wire.Captcha{CaptchaID: id, ImageURL: h.cfg.Issuer + captchaImagePath(id),
		AudioURL: h.cfg.Issuer + captchaAudioPath(id)})
}

func (h *handler) apiSignin(w http.ResponseWriter, r *http.Request) {
	var req wire.SigninRequest
	if !decode(w, r, &req) {
		return
	}
	c, err := h.svc.StartSignin(r.Context(), SigninRequest{Username: req.Username, Password: req.Password,
		CaptchaID: req.CaptchaID, Captcha: req.Captcha, IP: h.clientIP(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireChallenge(c))
}

func (h *handler) apiSigninVerify(w http.ResponseWriter, r *http.Request) {
	var req wire.SigninVerifyRequest
	if !decode(w, r, &req) {
		return
	}
	if req.ClientID != h.cfg.ClientID {
		h.fail(w, r, ErrInvalidClient)
		return
	}
	if err := checkDeviceName(req.DeviceName); err != nil {
		h.fail(w, r, err)
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
	writeJSON(w, http.StatusOK, wireTokens(tokens))
}

func (h *handler) apiDeviceAuthorize(w http.ResponseWriter, r *http.Request) {
	var req wire.DeviceAuthorizeRequest
	if !decode(w, r, &req) {
		return
	}
	d, err := h.svc.AuthorizeDevice(r.Context(), req.ClientID, req.DeviceName)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireDeviceAuthorization(d))
}

// Grant types of the token endpoint.
const (
	grantDeviceCode = wire.GrantDeviceCode
	grantRefresh    = wire.GrantRefresh
)

func (h *handler) apiToken(w http.ResponseWriter, r *http.Request) {
	var req wire.TokenRequest
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
	writeJSON(w, http.StatusOK, wireTokens(tokens))
}

func (h *handler) apiRevoke(w http.ResponseWriter, r *http.Request) {
	var req wire.RevokeRequest
	if !decode(w, r, &req) {
		return
	}
	if err := h.svc.Revoke(r.Context(), req.Token); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.RevokeResponse{Revoked: true})
}

// apiMe describes the bearer of an access token.
func (h *handler) apiMe(w http.ResponseWriter, r *http.Request) {
	c, _, ok := h.bearer(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, wire.Me{AccountID: c.Subject, Device: c.Device, DeviceID: c.DeviceID, Expires: c.Expiry.Time()})
}
