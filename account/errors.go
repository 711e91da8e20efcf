package account

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// FieldErrors maps a form field to what is wrong with it.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + f[k]
	}
	return strings.Join(parts, "; ")
}

// Error is a failure with a machine-readable code and a sentence for people.
type Error struct {
	Code       string        // e.g. "wrong_code"
	Message    string        // for the person
	Status     int           // HTTP status
	TriesLeft  int           // wrong_code: tries before a new code is needed
	RetryAfter time.Duration // locked, resend_too_soon, slow_down
}

func (e *Error) Error() string { return e.Message }

// The errors the service returns.
var (
	ErrBadCredentials = &Error{Code: "invalid_credentials", Status: 401,
		Message: "The user name or password is wrong."}
	ErrCaptchaRequired = &Error{Code: "captcha_required", Status: 403,
		Message: "Too many failed sign-ins: solve the captcha to go on."}
	ErrCodeExpired = &Error{Code: "code_expired", Status: 400,
		Message: "This code has expired or was already used: request a new one."}
	ErrTooManyTries = &Error{Code: "too_many_tries", Status: 400,
		Message: "Too many wrong codes: request a new one."}
	ErrTooManyCodes = &Error{Code: "too_many_codes", Status: 429,
		Message: "Too many codes were sent to this address today: try again tomorrow."}
	ErrInvalidClient = &Error{Code: "invalid_client", Status: 401, Message: "Unknown client."}
	ErrInvalidGrant  = &Error{Code: "invalid_grant", Status: 400,
		Message: "This token is not valid any more: sign in again."}
	ErrAuthorizationPending = &Error{Code: "authorization_pending", Status: 400,
		Message: "Waiting for the person to approve the device."}
	ErrAccessDenied = &Error{Code: "access_denied", Status: 400, Message: "The device was not approved."}
	ErrExpiredToken = &Error{Code: "expired_token", Status: 400,
		Message: "The device code expired: start again."}
	ErrUnknownUserCode = &Error{Code: "invalid_user_code", Status: 400,
		Message: "This code is not valid or has expired: check the code your device shows."}
)

func wrongCode(left int) *Error {
	return &Error{Code: "wrong_code", Status: 400, TriesLeft: left,
		Message: fmt.Sprintf("Wrong code: %d %s left.", left, plural(left, "try", "tries"))}
}

func locked(wait time.Duration) *Error {
	return &Error{Code: "locked", Status: 429, RetryAfter: wait,
		Message: fmt.Sprintf("Too many failed attempts: try again in %s.", roundUp(wait))}
}

func resendTooSoon(wait time.Duration) *Error {
	return &Error{Code: "resend_too_soon", Status: 429, RetryAfter: wait,
		Message: fmt.Sprintf("A code was just sent: you can ask for another in %s.", roundUp(wait))}
}

func slowDown(interval time.Duration) *Error {
	return &Error{Code: "slow_down", Status: 400, RetryAfter: interval, Message: "Polling too fast."}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
