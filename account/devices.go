package account

import (
	"context"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Tokens is what a device receives when it connects or refreshes.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	AccountID    string `json:"account_id"`
	DeviceID     string `json:"device_id"`
}

// DeviceAuthorization is the answer to a device authorization request
// (RFC 8628 section 3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// AuthorizeDevice starts connecting a device: the person enters the user
// code at the verification URI while the device polls Token.
func (s *Service) AuthorizeDevice(ctx context.Context, clientID, deviceName string) (DeviceAuthorization, error) {
	if clientID != s.cfg.ClientID {
		return DeviceAuthorization{}, ErrInvalidClient
	}
	if err := checkDeviceName(deviceName); err != nil {
		return DeviceAuthorization{}, err
	}
	code := randomToken(32)
	d := DeviceAuth{CodeHash: keyedHash(s.secret, "device", code), ClientID: clientID, DeviceName: deviceName,
		Status: "pending", Expires: s.now().Add(deviceAuthTTL), Interval: pollInterval}
	var err error
	for range 5 {
		d.UserCode = randomUserCode()
		if err = s.store.PutDeviceAuth(ctx, d); !errors.Is(err, ErrExists) {
			break
		}
	}
	if err != nil {
		return DeviceAuthorization{}, err
	}
	uri := s.cfg.Issuer + "/device"
	return DeviceAuthorization{DeviceCode: code, UserCode: d.UserCode, VerificationURI: uri,
		VerificationURIComplete: uri + "?user_code=" + d.UserCode,
		ExpiresIn:               int(deviceAuthTTL.Seconds()), Interval: int(pollInterval.Seconds())}, nil
}

// PendingDevice returns the name of the device waiting under userCode.
func (s *Service) PendingDevice(ctx context.Context, userCode string) (string, error) {
	d, err := s.store.DeviceAuthByUserCode(ctx, normalizeUserCode(userCode))
	if err != nil || d.Status != "pending" || s.now().After(d.Expires) {
		return "", ErrUnknownUserCode
	}
	return d.DeviceName, nil
}

// ApproveDevice records the signed-in person's answer for userCode.
func (s *Service) ApproveDevice(ctx context.Context, userCode, accountID string, approve bool) error {
	d, err := s.store.DeviceAuthByUserCode(ctx, normalizeUserCode(userCode))
	if err != nil || d.Status != "pending" || s.now().After(d.Expires) {
		return ErrUnknownUserCode
	}
	answer := "denied"
	if approve {
		answer = "approved"
	}
	ok, err := s.store.MoveDeviceAuth(ctx, d.CodeHash, "pending", answer, accountID, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnknownUserCode // answered or expired meanwhile
	}
	s.log.Info().Str("account", accountID).Str("device", d.DeviceName).Str("answer", answer).Msg("device authorization")
	return nil
}

// PollDevice is the device's token request (RFC 8628 section 3.4).
func (s *Service) PollDevice(ctx context.Context, clientID, deviceCode string) (Tokens, error) {
	if clientID != s.cfg.ClientID {
		return Tokens{}, ErrInvalidClient
	}
	d, err := s.store.DeviceAuth(ctx, keyedHash(s.secret, "device", deviceCode))
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidGrant
	}
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if now.After(d.Expires) {
		return Tokens{}, ErrExpiredToken
	}
	if d.Status == "pending" && now.Sub(d.LastPoll) < d.Interval {
		d.Interval += 5 * time.Second
		d.LastPoll = now
		s.store.PutDeviceAuth(ctx, d)
		return Tokens{}, slowDown(d.Interval)
	}
	d.LastPoll = now
	switch d.Status {
	case "pending":
		s.store.PutDeviceAuth(ctx, d)
		return Tokens{}, ErrAuthorizationPending
	case "denied":
		return Tokens{}, ErrAccessDenied
	case "issued":
		return Tokens{}, ErrInvalidGrant
	}
	ok, err := s.store.MoveDeviceAuth(ctx, d.CodeHash, "approved", "issued", "", now)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		return Tokens{}, ErrInvalidGrant // another poll collected the tokens
	}
	return s.Connect(ctx, d.AccountID, clientID, d.DeviceName)
}

// Connect registers a device for an account and returns its first tokens.
// The device's row is written once, whole: writing it again later would
// undo a disconnect that came in between.
func (s *Service) Connect(ctx context.Context, accountID, clientID, name string) (Tokens, error) {
	if clientID != s.cfg.ClientID {
		return Tokens{}, ErrInvalidClient
	}
	now := s.now()
	refresh := randomToken(32)
	dev := Device{ID: randomToken(9), AccountID: accountID, Name: name, ClientID: clientID, Created: now, LastSeen: now,
		RefreshHash: keyedHash(s.secret, "refresh", refresh), RefreshUntil: now.Add(s.cfg.RefreshTTL)}
	if err := s.store.AddDevice(ctx, dev); errors.Is(err, ErrExists) {
		return Tokens{}, deviceNameTaken(name)
	} else if err != nil {
		return Tokens{}, err
	}
	return s.issue(dev, refresh)
}

// issue signs a new access token for dev, whose refresh token is refresh.
func (s *Service) issue(dev Device, refresh string) (Tokens, error) {
	access, err := s.AccessToken(dev)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()),
		RefreshToken: refresh, AccountID: dev.AccountID, DeviceID: dev.ID}, nil
}

// accessClaims are an access token's claims: sub (the account), aud/azp
// (the client id), exp, and the device.
type accessClaims struct {
	jwt.Claims
	AuthorizedParty string `json:"azp"`
	Device          string `json:"device"`
	DeviceID        string `json:"device_id"`
}

// AccessToken signs a short-lived access token for dev.
func (s *Service) AccessToken(dev Device) (string, error) {
	now := s.now()
	return s.keys.Sign(accessClaims{
		Claims: jwt.Claims{Issuer: s.cfg.Issuer, Subject: dev.AccountID, Audience: jwt.Audience{dev.ClientID},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			Expiry: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)), ID: randomToken(12)},
		AuthorizedParty: dev.ClientID, Device: dev.Name, DeviceID: dev.ID,
	})
}

// Revoke disconnects the device holding refresh.
func (s *Service) Revoke(ctx context.Context, refresh string) error {
	dev, err := s.store.DeviceByRefresh(ctx, keyedHash(s.secret, "refresh", refresh))
	if errors.Is(err, ErrNotFound) {
		return nil // RFC 7009: an unknown token is not an error
	}
	if err != nil {
		return err
	}
	return s.store.RevokeDevice(ctx, dev.ID)
}

// Devices lists an account's connected devices.
func (s *Service) Devices(ctx context.Context, accountID string) ([]Device, error) {
	all, err := s.store.Devices(ctx, accountID)
	var out []Device
	for _, d := range all {
		if !d.Revoked {
			out = append(out, d)
		}
	}
	return out, err
}

// Disconnect revokes one of the account's devices.
func (s *Service) Disconnect(ctx context.Context, accountID, deviceID string) error {
	dev, err := s.store.Device(ctx, deviceID)
	if err != nil || dev.AccountID != accountID {
		return ErrNotFound
	}
	s.log.Info().Str("account", accountID).Str("device", dev.Name).Msg("device disconnected")
	return s.store.RevokeDevice(ctx, dev.ID)
}

// Account returns an account by ID.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return s.store.AccountByID(ctx, id)
}

// NewSession starts a web session and returns its cookie value.
func (s *Service) NewSession(ctx context.Context, accountID string) (string, error) {
	token := randomToken(32)
	return token, s.store.PutSession(ctx, keyedHash(s.secret, "session", token), accountID, s.now().Add(sessionTTL))
}

// SessionAccount returns the account of a session cookie.
func (s *Service) SessionAccount(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", ErrNotFound
	}
	return s.store.Session(ctx, keyedHash(s.secret, "session", token), s.now())
}

// EndSession signs a session out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, keyedHash(s.secret, "session", token))
}
