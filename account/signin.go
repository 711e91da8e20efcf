package account

import (
	"context"
	"errors"
	"strings"
	"unicode"
)

// SigninRequest is step one of a sign-in.
type SigninRequest struct {
	Username  string `json:"username"` // email, phone (E.164) or account ID
	Password  string `json:"password"`
	CaptchaID string `json:"captcha_id,omitempty"`
	Captcha   string `json:"captcha,omitempty"`
	IP        string `json:"-"`
}

// Challenge is what step one returns: the handle for step two and where
// the code went.
type Challenge struct {
	ID     string `json:"challenge_id"`
	SentTo string `json:"sent_to"`
}

// StartSignin checks the user name and password and sends a fresh 6-digit
// code to the account's email or phone. Its errors never tell whether the
// account exists. Failures are counted per account and per client address:
// after 3 the captcha is required, after 5 sign-in is locked for a while
// that doubles with each further failure.
func (s *Service) StartSignin(ctx context.Context, req SigninRequest) (Challenge, error) {
	keys := []string{"ip:" + req.IP}
	a, err := s.store.AccountByAddress(ctx, normalizeLogin(req.Username))
	if errors.Is(err, ErrNotFound) {
		a, err = s.store.AccountByID(ctx, strings.TrimSpace(req.Username))
	}
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Challenge{}, err
	}
	if found {
		keys = append(keys, "account:"+a.ID)
	}
	ts, err := s.throttles(ctx, keys)
	if err != nil {
		return Challenge{}, err
	}
	if wait := s.lockedFor(ts); wait > 0 {
		return Challenge{}, locked(wait)
	}
	if needsCaptcha(ts) && !s.captcha.Verify(req.CaptchaID, req.Captcha) {
		return Challenge{}, ErrCaptchaRequired
	}
	hash := dummyHash
	if found {
		hash = a.PasswordHash
	}
	if !checkPassword(hash, req.Password) || !found {
		if err := s.fail(ctx, ts); err != nil {
			return Challenge{}, err
		}
		s.log.Info().Str("ip", req.IP).Msg("sign-in failed")
		return Challenge{}, ErrBadCredentials
	}
	c := &Code{ID: randomToken(18), Purpose: "signin", Address: a.Email, AccountID: a.ID}
	if c.Address == "" {
		c.Address = a.Phone
	}
	if err := s.sendCode(ctx, c, "Your cloudkeep sign-in code",
		"Your cloudkeep sign-in code is %s. It is valid for 10 minutes. Never share it.", true); err != nil {
		return Challenge{}, err
	}
	return Challenge{ID: c.ID, SentTo: mask(c.Address)}, nil
}

// VerifySignin checks the code of step two and returns the account ID.
func (s *Service) VerifySignin(ctx context.Context, challengeID, code, ip string) (string, error) {
	c, err := s.store.Code(ctx, challengeID)
	if errors.Is(err, ErrNotFound) || (err == nil && c.Purpose != "signin") {
		return "", ErrCodeExpired
	}
	if err != nil {
		return "", err
	}
	if err := s.checkCode(ctx, c, strings.TrimSpace(code)); err != nil {
		return "", err
	}
	if err := s.store.DeleteCode(ctx, c.ID); err != nil {
		return "", err
	}
	if err := s.succeed(ctx, "account:"+c.AccountID); err != nil {
		return "", err
	}
	s.log.Info().Str("account", c.AccountID).Msg("signed in")
	return c.AccountID, nil
}

// CaptchaRequired reports whether a sign-in from ip must solve a captcha.
func (s *Service) CaptchaRequired(ctx context.Context, ip string) bool {
	ts, err := s.throttles(ctx, []string{"ip:" + ip})
	return err == nil && needsCaptcha(ts)
}

// NewCaptcha returns the id of a new captcha, served at /captcha/ID.png.
func (s *Service) NewCaptcha() string { return s.captcha.New() }

// normalizeLogin lower-cases an email and formats a phone number as E.164.
func normalizeLogin(login string) string {
	login = strings.TrimSpace(login)
	if strings.Contains(login, "@") {
		return strings.ToLower(login)
	}
	digits := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, login)
	if strings.HasPrefix(login, "+") || strings.HasPrefix(login, "00") {
		return "+" + strings.TrimPrefix(digits, "00")
	}
	return login
}
