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
	"unicode/utf8"

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
	IP        string `json:"-"` // the client address: sign-ups are limited per address
}

// ResendRequest asks for a new sign-up PIN. A PIN sent by text message
// needs a solved captcha.
type ResendRequest struct {
	ID, CaptchaID, Captcha string
	IP                     string // the client address
}

// Limits of the sign-up form.
const (
	maxEmail = 254 // RFC 5321's limit for a forward path
	maxPhone = 32  // characters typed, separators included
)

// ErrResendCaptcha refuses to send a sign-up PIN by text message again
// without a solved captcha.
var ErrResendCaptcha = &Error{Code: "captcha_required", Status: 403,
	Message: "Solve the captcha to get another code by text message."}

type signupData struct {
	Region    string `json:"region"`
	BirthDate string `json:"birth_date"`
	Exists    bool   `json:"exists,omitempty"` // the address has an account: no PIN was sent
}

// StartSignup checks the form and sends a 6-digit PIN to the address. It
// returns the sign-up's id. When the address already has an account the
// answer is the same, and only the message sent there says so, once a day
// at most. PINs are limited per address (one a minute, a few a day) and
// sign-ups per client address; a refused sign-up stores and spends nothing.
func (s *Service) StartSignup(ctx context.Context, req SignupRequest) (string, error) {
	address, kind, birth, err := s.checkSignup(req)
	if err != nil {
		return "", err
	}
	_, err = s.store.AccountByAddress(ctx, address)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("look up sign-up address: %w", err)
	}
	data, _ := json.Marshal(signupData{Region: req.Region, BirthDate: birth.Format(time.DateOnly), Exists: exists})
	c := &Code{ID: randomToken(18), Purpose: "signup", Address: address, Kind: kind, Data: string(data)}
	return c.ID, s.sendSignupCode(ctx, c, exists, req.IP)
}

// sendSignupCode spends the sign-up budgets, gives c a fresh PIN, and
// sends it, or the note that the address has an account.
func (s *Service) sendSignupCode(ctx context.Context, c *Code, exists bool, ip string) error {
	spent, err := s.spend(ctx, s.signupBudgets(c.Address, ip))
	if err != nil {
		return err
	}
	code, err := s.newCode(ctx, c)
	if err == nil {
		err = s.deliverSignup(ctx, c, exists, code)
	}
	if err != nil {
		s.refund(ctx, spent)
	}
	return err
}

// deliverSignup sends the PIN; to an address that has an account it sends
// the note instead, at most once a day, and otherwise nothing. The answer
// is the same either way.
func (s *Service) deliverSignup(ctx context.Context, c *Code, exists bool, code string) error {
	if !exists {
		return s.deliver(ctx, c, pinMessage, code)
	}
	spent, err := s.spend(ctx, []budget{{s.budgetKey("exists", c.Address), budgetDay, existsMailsPerDay, tooManyCodes}})
	if isErr(err, ErrTooManyCodes) {
		return nil
	}
	if err == nil {
		err = s.deliver(ctx, c, s.existsMessage(), "")
	}
	if err != nil {
		s.refund(ctx, spent)
	}
	return err
}

// checkSignup validates the form; it returns the address (lower-case email
// or E.164 phone), its kind and the birth date.
func (s *Service) checkSignup(req SignupRequest) (string, AddressKind, time.Time, error) {
	fe := FieldErrors{}
	var address string
	var kind AddressKind
	switch {
	case req.Email != "" && req.Phone != "":
		fe["email"] = "Give an email address or a phone number, not both."
	case req.Email != "":
		address, kind = checkEmail(req.Email, fe)
	case req.Phone != "":
		p, msg := parsePhone(req.DialCode, req.Phone)
		if msg != "" {
			fe["phone"] = msg
		}
		address, kind = p, KindPhone
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
		return "", "", time.Time{}, fe
	}
	return address, kind, birth, nil
}

// checkEmail returns the lower-case address of an email sign-up, or notes
// in fe what is wrong with it.
func checkEmail(email string, fe FieldErrors) (string, AddressKind) {
	email = strings.TrimSpace(email)
	if len(email) > maxEmail {
		fe["email"] = fmt.Sprintf("An email address has at most %d characters.", maxEmail)
		return "", ""
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || !strings.Contains(a.Address[strings.IndexByte(a.Address, '@'):], ".") ||
		strings.IndexFunc(a.Address, hiddenRune) >= 0 {
		fe["email"] = "Enter an email address such as name@example.com."
		return "", ""
	}
	return strings.ToLower(a.Address), KindEmail
}

// hiddenRune reports a character that would show an address as another:
// control, format (text direction, zero width), line or paragraph
// separators, and the replacement character of invalid UTF-8.
func hiddenRune(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

func parsePhone(dial, number string) (string, string) {
	dial = strings.TrimPrefix(strings.TrimSpace(dial), "+")
	if dial == "" || len(dial) > 4 || strings.IndexFunc(dial, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", "Choose the country dial code."
	}
	if len(number) > maxPhone {
		return "", "Enter a valid mobile number for +" + dial + "."
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
// Each try is counted before the PIN is compared, so parallel guesses get
// codeTries comparisons between them.
func (s *Service) VerifySignup(ctx context.Context, id, pin string) error {
	c, _, err := s.signup(ctx, id)
	if err != nil {
		return err
	}
	if c.Verified {
		return nil
	}
	if c, err = s.tryCode(ctx, id, "signup", pin); err != nil {
		return err
	}
	err = s.store.VerifyCode(ctx, c.ID, c.Hash, s.now().Add(signupTTL))
	if errors.Is(err, ErrNotFound) { // verified meanwhile, or a new PIN replaced this one
		if now, _, e := s.signup(ctx, id); e != nil || !now.Verified {
			return ErrCodeExpired
		}
		return nil
	}
	return err
}

// ResendSignup sends a new PIN, under the same limits as StartSignup; by
// text message only with a solved captcha.
func (s *Service) ResendSignup(ctx context.Context, req ResendRequest) error {
	c, d, err := s.signup(ctx, req.ID)
	if err != nil {
		return err
	}
	if c.Verified {
		return nil
	}
	if c.kind() == KindPhone && !s.captcha.Verify(req.CaptchaID, req.Captcha) {
		return ErrResendCaptcha
	}
	return s.sendSignupCode(ctx, &c, d.Exists, req.IP)
}

// SignupByPhone reports whether the PIN of a sign-up goes by text message:
// then a resend needs a captcha.
func (s *Service) SignupByPhone(ctx context.Context, id string) bool {
	c, _, err := s.signup(ctx, id)
	return err == nil && c.kind() == KindPhone
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
	hash, err := s.hashPasswordBounded(ctx, password)
	if err != nil {
		return "", err
	}
	birth, _ := time.Parse(time.DateOnly, d.BirthDate)
	a := Account{Region: d.Region, BirthDate: birth, PasswordHash: hash, Created: s.now()}
	if c.kind() == KindPhone {
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
