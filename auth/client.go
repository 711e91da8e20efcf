package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// Client calls the account service's JSON API.
type Client struct {
	URL      string // the account service, e.g. https://accounts.example.com
	ClientID string
	HTTP     *http.Client
}

// APIError is an error answer of the account service: its HTTP status and
// its body (a zero Body when the answer was not a wire.Error).
type APIError struct {
	Status int
	Body   wire.Error
}

// Error is the service's message, or the status and code without one.
func (e *APIError) Error() string {
	if e.Body.Message != "" {
		return e.Body.Message
	}
	return fmt.Sprintf("account service answered %d %s", e.Status, e.Body.Code)
}

// IsCode reports whether err is an answer of the account service with the
// error code code (one of wire's ErrCode constants).
func IsCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Body.Code == code
}

// The bodies of the account service's API.
type (
	// Tokens are what the service hands a device.
	Tokens = wire.Tokens
	// DeviceAuthorization is the start of the device flow.
	DeviceAuthorization = wire.DeviceAuthorization
	// Challenge is step one of a password sign-in.
	Challenge = wire.Challenge
	// Me describes the bearer of an access token.
	Me = wire.Me
)

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reach the account service: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		json.Unmarshal(b, &e.Body) // a body that is not a wire.Error leaves the status to speak
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("read the answer to %s: %w", req.URL.Path, err)
	}
	return nil
}

// AuthorizeDevice starts the device flow.
func (c *Client) AuthorizeDevice(ctx context.Context, deviceName string) (DeviceAuthorization, error) {
	var d DeviceAuthorization
	err := c.post(ctx, wire.PathDeviceAuthorize, wire.DeviceAuthorizeRequest{ClientID: c.ClientID, DeviceName: deviceName}, &d)
	return d, err
}

// WaitForApproval polls the token endpoint at the server's pace until the
// person approves or denies, or the code expires; a server error (5xx) is
// polled through.
func (c *Client) WaitForApproval(ctx context.Context, d DeviceAuthorization) (Tokens, error) {
	interval := time.Duration(max(d.Interval, 1)) * time.Second
	for {
		select {
		case <-ctx.Done():
			return Tokens{}, ctx.Err()
		case <-time.After(interval):
		}
		var t Tokens
		err := c.post(ctx, wire.PathToken, wire.TokenRequest{GrantType: wire.GrantDeviceCode,
			ClientID: c.ClientID, DeviceCode: d.DeviceCode}, &t)
		var e *APIError
		switch {
		case err == nil:
			return t, nil
		case IsCode(err, wire.ErrCodeAuthorizationPending):
		case errors.As(err, &e) && e.Body.Code == wire.ErrCodeSlowDown:
			interval = time.Duration(max(e.Body.Interval, int(interval.Seconds())+5)) * time.Second
		case errors.As(err, &e) && e.Status >= 500:
			// The service failed for now (its database, say): poll on until the code expires.
		default:
			return Tokens{}, err
		}
	}
}

// Signin is step one of a password sign-in: a code goes to the account's
// email or phone.
func (c *Client) Signin(ctx context.Context, username, password string) (Challenge, error) {
	var ch Challenge
	err := c.post(ctx, wire.PathSignin, wire.SigninRequest{Username: username, Password: password}, &ch)
	return ch, err
}

// SigninVerify is step two: the code, for tokens.
func (c *Client) SigninVerify(ctx context.Context, challengeID, code, deviceName string) (Tokens, error) {
	var t Tokens
	err := c.post(ctx, wire.PathSigninVerify, wire.SigninVerifyRequest{ChallengeID: challengeID, Code: code,
		ClientID: c.ClientID, DeviceName: deviceName}, &t)
	return t, err
}

// Refresh trades a refresh token for new tokens (the old one is spent).
func (c *Client) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	var t Tokens
	err := c.post(ctx, wire.PathToken, wire.TokenRequest{GrantType: wire.GrantRefresh, ClientID: c.ClientID, RefreshToken: refresh}, &t)
	return t, err
}

// Revoke disconnects the device holding refresh.
func (c *Client) Revoke(ctx context.Context, refresh string) error {
	var out wire.RevokeResponse
	return c.post(ctx, wire.PathRevoke, wire.RevokeRequest{Token: refresh}, &out)
}

// Me describes the bearer of an access token.
func (c *Client) Me(ctx context.Context, access string) (Me, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.URL, "/")+wire.PathMe, nil)
	if err != nil {
		return Me{}, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	var out Me
	return out, c.do(req, &out)
}

// IsRevoked reports whether err says the sign-in is no longer valid.
func IsRevoked(err error) bool {
	return IsCode(err, wire.ErrCodeInvalidGrant) || IsCode(err, wire.ErrCodeInvalidToken)
}
