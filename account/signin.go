package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// SigninRequest is step one of a sign-in.
type SigninRequest struct {
	Username  string `json:"username"` // email, phone (E.164 or national) or account ID
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
// account exists. Each attempt is counted before the password is compared
// (see throttle.go): after 3 the captcha is required, after 5 the client
// address is locked for a while that doubles with each further attempt.
// ErrBusy when no password can be checked at the moment.
func (s *Service) StartSignin(ctx context.Context, req SigninRequest) (Challenge, error) {
	a, found, err := s.findAccount(ctx, req.Username)
	if err != nil {
		return Challenge{}, err
	}
	user := normalizeLogin(req.Username)
	if found {
		user = "account:" + a.ID
	}
	solved := req.CaptchaID != "" && s.captcha.Verify(req.CaptchaID, req.Captcha)
	adm, err := s.admit(ctx, s.signinCounters(user, req.IP), solved)
	if err != nil {
		return Challenge{}, err
	}
	hash := a.PasswordHash
	if !found {
		hash = dummyHash()
	}
	ok, err := s.checkPasswordBounded(ctx, hash, req.Password)
	if err != nil {
		s.forgive(ctx, adm)
		return Challenge{}, err
	}
	if !ok || !found {
		s.log.Info().Str("ip", req.IP).Msg("sign-in failed")
		return Challenge{}, ErrBadCredentials
	}
	s.forgive(ctx, adm) // a right password is no failure
	return s.sendSigninCode(ctx, a)
}

// sendSigninCode sends a sign-in code to the account's email, or else its
// phone.
func (s *Service) sendSigninCode(ctx context.Context, a Account) (Challenge, error) {
	c := &Code{ID: randomToken(18), Purpose: "signin", Address: a.Email, Kind: KindEmail, AccountID: a.ID}
	if c.Address == "" {
		c.Address, c.Kind = a.Phone, KindPhone
	}
	if err := s.sendCode(ctx, c, signinMessage, s.signinBudgets(c.Address)); err != nil {
		return Challenge{}, err
	}
	return Challenge{ID: c.ID, SentTo: mask(c.Address)}, nil
}

// findAccount finds the account a sign-in names: by email or phone, by
// account ID, or by a phone number typed in its national format.
func (s *Service) findAccount(ctx context.Context, username string) (Account, bool, error) {
	name := strings.TrimSpace(username)
	if name == "" || len(name) > maxEmail {
		return Account{}, false, nil
	}
	a, err := s.store.AccountByAddress(ctx, normalizeLogin(name))
	if errors.Is(err, ErrNotFound) {
		a, err = s.store.AccountByID(ctx, name)
	}
	if errors.Is(err, ErrNotFound) {
		a, err = s.accountByNationalPhone(ctx, name)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return Account{}, false, nil
	case err != nil:
		return Account{}, false, fmt.Errorf("find account: %w", err)
	}
	return a, true, nil
}

// VerifySignin checks the code of step two and returns the account ID. A
// right code is used up at once: of parallel requests with it, one
// succeeds.
func (s *Service) VerifySignin(ctx context.Context, challengeID, code, ip string) (string, error) {
	c, err := s.tryCode(ctx, challengeID, "signin", code)
	if err != nil {
		return "", err
	}
	if _, err := s.store.ConsumeCode(ctx, c.ID, c.Hash, s.now()); errors.Is(err, ErrNotFound) {
		return "", ErrCodeExpired
	} else if err != nil {
		return "", fmt.Errorf("use up sign-in code: %w", err)
	}
	if err := s.clearSignin(ctx, "account:"+c.AccountID, ip); err != nil {
		return "", err
	}
	s.log.Info().Str("account", c.AccountID).Msg("signed in")
	return c.AccountID, nil
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
