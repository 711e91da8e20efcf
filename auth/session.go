package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// needsRefresh reports whether the access token is in the last fifth of its
// life (or the last minute, for long-lived ones).
func (c Credentials) needsRefresh(now time.Time) bool {
	margin := min(c.AccessExpiry.Sub(c.AccessIssued)/5, time.Minute)
	return !now.Before(c.AccessExpiry.Add(-margin))
}

// Session holds a device's sign-in: it hands out fresh access tokens,
// refreshing them (and saving the rotated refresh token before it is used)
// and picking up a new credentials file after `cloudkeep login`.
type Session struct {
	file   File
	client *Client
	now    func() time.Time

	mu     sync.Mutex
	creds  Credentials
	loaded time.Time // the file's mtime when read
	err    error     // why there is no sign-in
	forced string    // the access token a refusal made Refused fetch
}

// NewSession reads the credentials file; a missing or revoked sign-in is
// not an error here: AccessToken returns ErrSignedOut until a login.
func NewSession(file File, accountURL, clientID string) *Session {
	s := &Session{file: file, client: &Client{URL: accountURL, ClientID: clientID}, now: time.Now}
	s.mu.Lock()
	s.reload()
	s.mu.Unlock()
	return s
}

// reload reads the file when it changed since it was read.
func (s *Session) reload() {
	mt := s.file.modTime()
	if !mt.IsZero() && mt.Equal(s.loaded) {
		return
	}
	c, err := s.file.Load()
	s.loaded = mt
	if err != nil {
		s.creds, s.err = Credentials{}, err
		return
	}
	s.creds, s.err = c, nil
}

// AccountID returns the signed-in account, or "".
func (s *Session) AccountID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload()
	return s.creds.AccountID
}

// SignedIn reports whether the device has a sign-in that was not found
// revoked, and the reason when it has not.
func (s *Session) SignedIn() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload()
	return s.err == nil, s.err
}

// AccessToken returns a valid access token, refreshing it when it is about
// to expire. ErrSignedOut (wrapped) when the device is signed out or was
// disconnected.
func (s *Session) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload()
	if s.err != nil {
		return "", s.err
	}
	if !s.creds.needsRefresh(s.now()) {
		return s.creds.AccessToken, nil
	}
	if err := s.refresh(ctx); err != nil {
		return "", err
	}
	return s.creds.AccessToken, nil
}

// refresh trades the refresh token for new tokens and saves them before
// they are used. s.mu is held.
func (s *Session) refresh(ctx context.Context) error {
	t, err := s.client.Refresh(ctx, s.creds.RefreshToken)
	if IsRevoked(err) {
		s.err = fmt.Errorf("%w (this device was disconnected or its sign-in expired)", ErrSignedOut)
		return s.err
	}
	if err != nil {
		return err
	}
	next := s.creds
	next.AccessToken, next.RefreshToken = t.AccessToken, t.RefreshToken
	next.AccessIssued = s.now()
	next.AccessExpiry = next.AccessIssued.Add(time.Duration(t.ExpiresIn) * time.Second)
	if err := s.file.Save(next); err != nil {
		return fmt.Errorf("save refreshed tokens: %w", err)
	}
	s.creds, s.loaded = next, s.file.modTime()
	return nil
}

// Refused is told that the account service refused token (401): the
// access token is refreshed now, and the new one returned. When the token
// refused is one this method handed out, or the refresh is refused, the
// device is signed out until the next login: ErrSignedOut (wrapped).
func (s *Session) Refused(ctx context.Context, token string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reload()
	switch {
	case s.err != nil:
		return "", s.err
	case token != s.creds.AccessToken:
		return s.creds.AccessToken, nil // refreshed meanwhile
	case token == s.forced:
		s.err = fmt.Errorf("%w (the account service refuses this device's sign-in)", ErrSignedOut)
		return "", s.err
	}
	if err := s.refresh(ctx); err != nil {
		return "", err
	}
	s.forced = s.creds.AccessToken
	return s.creds.AccessToken, nil
}

// Save stores new credentials (after a login).
func (s *Session) Save(c Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.file.Save(c); err != nil {
		return err
	}
	s.creds, s.err, s.loaded = c, nil, s.file.modTime()
	return nil
}

// IsSignedOut reports whether err means the device must sign in again.
func IsSignedOut(err error) bool { return errors.Is(err, ErrSignedOut) }
