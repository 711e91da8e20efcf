package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// SignupRequest is the sign-up form: an email address, or a phone number
// with its dial code (then the captcha too), the region and the birth date.
type SignupRequest struct {
	Email     string `json:"email,omitempty"`
	DialCode  string `json:"dial_code,omitempty"` // "+49"
	Phone     string `json:"phone,omitempty"`
	Region    string `json:"region"`
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
	CaptchaID string `json:"captcha_id,omitempty"`
	Captcha   string `json:"captcha,omitempty"`
}

type signupData struct {
	Region    string `json:"region"`
	BirthDate string `json:"birth_date"`
	Exists    bool   `json:"exists,omitempty"` // the address has an account: no PIN was sent
}

// StartSignup checks the form and sends a 6-digit PIN to the address. It
// returns the sign-up's id. When the address already has an account the
// answer is the same, and only the message sent there says so.
func (s *Service) StartSignup(ctx context.Context, req SignupRequest) (string, error) {
	address, birth, err := s.checkSignup(req)
	if err != nil {
		return "", err
	}
	_, err = s.store.AccountByAddress(ctx, address)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	data, _ := json.Marshal(signupData{Region: req.Region, BirthDate: birth.Format(time.DateOnly), Exists: exists})
	c := &Code{ID: randomToken(18), Purpose: "signup", Address: address, Data: string(data)}
	return c.ID, s.sendSignupCode(ctx, c, exists)
}

func (s *Service) sendSignupCode(ctx context.Context, c *Code, exists bool) error {
	if exists {
		return s.sendCode(ctx, c, "Your cloudkeep account",
			"Someone, maybe you, tried to create a cloudkeep account with this address, which already has one. "+
				"Sign in at "+s.cfg.Issuer+"/signin instead. If it was not you, you can ignore this message.", false)
	}
	return s.sendCode(ctx, c, "Your cloudkeep verification PIN",
		"Your cloudkeep verification PIN is %s. It is valid for 10 minutes.", true)
}

// checkSignup validates the form; it returns the address (lower-case email
// or E.164 phone) and the birth date.
func (s *Service) checkSignup(req SignupRequest) (string, time.Time, error) {
	fe := FieldErrors{}
	var address string
	switch {
	case req.Email != "" && req.Phone != "":
		fe["email"] = "Give an email address or a phone number, not both."
	case req.Email != "":
		a, err := mail.ParseAddress(strings.TrimSpace(req.Email))
		if err != nil || a.Name != "" || !strings.Contains(a.Address[strings.IndexByte(a.Address, '@'):], ".") {
			fe["email"] = "Enter an email address such as name@example.com."
		} else {
			address = strings.ToLower(a.Address)
		}
	case req.Phone != "":
		p, msg := parsePhone(req.DialCode, req.Phone)
		if msg != "" {
			fe["phone"] = msg
		}
		address = p
		if !s.captcha.Verify(req.CaptchaID, req.Captcha) {
			fe["captcha"] = "The characters do not match the picture: try the new one."
		}
	default:
		fe["email"] = "Enter an email address or a phone number."
	}
	if !knownRegion(req.Region) {
		fe["region"] = "Choose your country or region."
	}
	birth, msg := s.checkBirthDate(req.BirthDate, req.Region)
	if msg != "" {
		fe["birth_date"] = msg
	}
	if len(fe) > 0 {
		return "", time.Time{}, fe
	}
	return address, birth, nil
}

func parsePhone(dial, number string) (string, string) {
	dial = strings.TrimPrefix(strings.TrimSpace(dial), "+")
	if dial == "" || strings.IndexFunc(dial, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return "", "Choose the country dial code."
	}
	n, err := phonenumbers.Parse("+"+dial+strings.TrimSpace(number), "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", "Enter a valid mobile number for +" + dial + "."
	}
	return phonenumbers.Format(n, phonenumbers.E164), ""
}

func (s *Service) checkBirthDate(date, region string) (time.Time, string) {
	birth, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return time.Time{}, "Enter your date of birth."
	}
	now := s.now()
	if birth.After(now) || birth.Year() < now.Year()-130 {
		return time.Time{}, "Enter your real date of birth."
	}
	minAge := s.cfg.MinAge
	if a, ok := s.cfg.MinAgeByRegion[region]; ok {
		minAge = a
	}
	if birth.AddDate(minAge, 0, 0).After(now) {
		return time.Time{}, fmt.Sprintf("You must be at least %d to create an account.", minAge)
	}
	return birth, ""
}

// signup returns a sign-up by id.
func (s *Service) signup(ctx context.Context, id string) (Code, signupData, error) {
	c, err := s.store.Code(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && c.Purpose != "signup") {
		return Code{}, signupData{}, ErrCodeExpired
	}
	if err != nil {
		return Code{}, signupData{}, err
	}
	var d signupData
	json.Unmarshal([]byte(c.Data), &d)
	return c, d, nil
}

// VerifySignup checks the PIN; a wrong one says how many tries are left.
func (s *Service) VerifySignup(ctx context.Context, id, pin string) error {
	c, _, err := s.signup(ctx, id)
	if err != nil {
		return err
	}
	if c.Verified {
		return nil
	}
	if err := s.checkCode(ctx, c, strings.TrimSpace(pin)); err != nil {
		return err
	}
	c.Verified, c.Expires = true, s.now().Add(signupTTL)
	return s.store.PutCode(ctx, c)
}

// ResendSignup sends a new PIN.
func (s *Service) ResendSignup(ctx context.Context, id string) error {
	c, d, err := s.signup(ctx, id)
	if err != nil {
		return err
	}
	if c.Verified {
		return nil
	}
	return s.sendSignupCode(ctx, &c, d.Exists)
}

// SignupAddress returns where the PIN of a sign-up went, masked.
func (s *Service) SignupAddress(ctx context.Context, id string) (string, bool, error) {
	c, _, err := s.signup(ctx, id)
	return mask(c.Address), c.Verified, err
}

// FinishSignup sets the password of a verified sign-up and activates the
// account; it returns the account ID.
func (s *Service) FinishSignup(ctx context.Context, id, password, confirm string) (string, error) {
	c, d, err := s.signup(ctx, id)
	if err != nil {
		return "", err
	}
	if !c.Verified || s.now().After(c.Expires) {
		return "", ErrCodeExpired
	}
	if msg := checkPasswordPolicy(password); msg != "" {
		return "", FieldErrors{"password": msg}
	}
	if password != confirm {
		return "", FieldErrors{"confirm": "The passwords do not match."}
	}
	birth, _ := time.Parse(time.DateOnly, d.BirthDate)
	a := Account{Region: d.Region, BirthDate: birth, PasswordHash: hashPassword(password), Created: s.now()}
	if strings.HasPrefix(c.Address, "+") {
		a.Phone = c.Address
	} else {
		a.Email = c.Address
	}
	for range 5 { // account IDs are random; retry the rare collision
		a.ID = "1" + randomDigits(9)
		if err = s.store.CreateAccount(ctx, a); !errors.Is(err, ErrExists) {
			break
		}
		if _, e := s.store.AccountByAddress(ctx, c.Address); e == nil {
			return "", ErrCodeExpired // the address was taken meanwhile
		}
	}
	if err != nil {
		return "", err
	}
	s.store.DeleteCode(ctx, id)
	s.log.Info().Str("account", a.ID).Msg("account created")
	return a.ID, nil
}

// checkPasswordPolicy says what a password lacks, or "" when it is good.
func checkPasswordPolicy(p string) string {
	var missing []string
	if len([]rune(p)) < 8 {
		missing = append(missing, "at least 8 characters")
	}
	if strings.IndexFunc(p, unicode.IsLetter) < 0 {
		missing = append(missing, "a letter")
	}
	if strings.IndexFunc(p, unicode.IsDigit) < 0 {
		missing = append(missing, "a digit")
	}
	if len(p) > 256 {
		return "The password must be at most 256 characters."
	}
	if len(missing) == 0 {
		return ""
	}
	return "The password needs " + joinAnd(missing) + "."
}

func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
