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

	"github.com/cloudkeep/cloudkeep/account"
)

// Client calls the account service's JSON API.
type Client struct {
	URL      string // the account service, e.g. https://accounts.example.com
	ClientID string
	HTTP     *http.Client
}

// APIError is an error answer of the account service.
type APIError struct {
	Status    int
	Code      string `json:"error"`
	Message   string `json:"message"`
	TriesLeft *int   `json:"tries_left"`
	Interval  int    `json:"interval"`
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("account service answered %d %s", e.Status, e.Code)
}

// The wire types are the account service's own.
type (
	// Tokens are what the service hands a device.
	Tokens = account.Tokens
	// DeviceAuthorization is the start of the device flow.
	DeviceAuthorization = account.DeviceAuthorization
	// Challenge is step one of a password sign-in.
	Challenge = account.Challenge
)

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, _ := json.Marshal(in)
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
		json.Unmarshal(b, e)
		return e
	}
	return json.Unmarshal(b, out)
}

// AuthorizeDevice starts the device flow.
func (c *Client) AuthorizeDevice(ctx context.Context, deviceName string) (DeviceAuthorization, error) {
	var d DeviceAuthorization
	err := c.post(ctx, "/api/v1/device/authorize", map[string]string{"client_id": c.ClientID, "device_name": deviceName}, &d)
	return d, err
}

// WaitForApproval polls the token endpoint at the server's pace until the
// person approves or denies, or the code expires.
func (c *Client) WaitForApproval(ctx context.Context, d DeviceAuthorization) (Tokens, error) {
	interval := time.Duration(max(d.Interval, 1)) * time.Second
	for {
		select {
		case <-ctx.Done():
			return Tokens{}, ctx.Err()
		case <-time.After(interval):
		}
		var t Tokens
		err := c.post(ctx, "/api/v1/token", map[string]string{"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
			"client_id": c.ClientID, "device_code": d.DeviceCode}, &t)
		var e *APIError
		switch {
		case err == nil:
			return t, nil
		case errors.As(err, &e) && e.Code == "authorization_pending":
		case errors.As(err, &e) && e.Code == "slow_down":
			interval = time.Duration(max(e.Interval, int(interval.Seconds())+5)) * time.Second
		default:
			return Tokens{}, err
		}
	}
}

// Signin is step one of a password sign-in: a code goes to the account's
// email or phone.
func (c *Client) Signin(ctx context.Context, username, password string) (Challenge, error) {
	var ch Challenge
	err := c.post(ctx, "/api/v1/signin", map[string]string{"username": username, "password": password}, &ch)
	return ch, err
}

// SigninVerify is step two: the code, for tokens.
func (c *Client) SigninVerify(ctx context.Context, challengeID, code, deviceName string) (Tokens, error) {
	var t Tokens
	err := c.post(ctx, "/api/v1/signin/verify", map[string]string{"challenge_id": challengeID, "code": code,
		"client_id": c.ClientID, "device_name": deviceName}, &t)
	return t, err
}

// Refresh trades a refresh token for new tokens (the old one is spent).
func (c *Client) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	var t Tokens
	err := c.post(ctx, "/api/v1/token", map[string]string{"grant_type": "refresh_token", "client_id": c.ClientID, "refresh_token": refresh}, &t)
	return t, err
}

// Revoke disconnects the device holding refresh.
func (c *Client) Revoke(ctx context.Context, refresh string) error {
	var out map[string]any
	return c.post(ctx, "/api/v1/revoke", map[string]string{"token": refresh}, &out)
}

// Me describes the bearer of an access token.
func (c *Client) Me(ctx context.Context, access string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.URL, "/")+"/api/v1/me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	var out map[string]any
	return out, c.do(req, &out)
}

// IsRevoked reports whether err says the sign-in is no longer valid.
func IsRevoked(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Code == "invalid_grant" || e.Code == "invalid_token")
}
