package account

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Config sets the service's policies.
type Config struct {
	Issuer         string // the public URL
	ClientID       string // the agent's OAuth client id
	MinAge         int
	MinAgeByRegion map[string]int
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	Policy         string // the MinIO policy named in access tokens
	// TrustedProxies are load balancers whose X-Forwarded-For is believed
	// when counting failed sign-ins per client address.
	TrustedProxies []netip.Prefix
}

// Code rules.
const (
	codeTTL       = 10 * time.Minute
	codeTries     = 5
	resendAfter   = 60 * time.Second
	codesPerDay   = 10
	signupTTL     = 30 * time.Minute // from the PIN to the password
	sessionTTL    = 12 * time.Hour
	deviceAuthTTL = 10 * time.Minute
	pollInterval  = 5 * time.Second
)

// Service is the account service's logic, shared by the web pages and the
// JSON API. It keeps no state of its own beyond the Store: replicas behind a
// load balancer share one database.
type Service struct {
	store    Store
	keys     *Keys
	delivery Delivery
	cfg      Config
	secret   []byte // keys the hashes of codes and tokens
	log      zerolog.Logger
	now      func() time.Time
	captcha  Captcha
}

// NewService returns the service. secret keys the hashes of codes, tokens
// and CSRF tokens; it must stay the same across restarts and replicas.
func NewService(store Store, keys *Keys, delivery Delivery, cfg Config, secret []byte, log zerolog.Logger) *Service {
	return &Service{store: store, keys: keys, delivery: delivery, cfg: cfg, secret: secret,
		log: log.With().Str("component", "accounts").Logger(), now: time.Now, captcha: defaultCaptcha{}}
}

// checkCode verifies a code entered for c, counting wrong tries. It returns
// nil when right; the code is then used up unless keep is set.
func (s *Service) checkCode(ctx context.Context, c Code, entered string) error {
	if s.now().After(c.Expires) {
		return ErrCodeExpired
	}
	if c.Tries >= codeTries {
		return ErrTooManyTries
	}
	if !equalHash(c.Hash, keyedHash(s.secret, "code", c.ID, entered)) {
		c.Tries++
		if err := s.store.PutCode(ctx, c); err != nil {
			return err
		}
		if c.Tries >= codeTries {
			return ErrTooManyTries
		}
		return wrongCode(codeTries - c.Tries)
	}
	return nil
}

// sendCode makes a new code for c, sends it with text (which holds %s for
// the code), and stores c. Resends wait a minute; an address gets ten codes
// a day at most.
func (s *Service) sendCode(ctx context.Context, c *Code, subject, text string, reveal bool) error {
	now := s.now()
	if !c.Sent.IsZero() && now.Sub(c.Sent) < resendAfter {
		return resendTooSoon(resendAfter - now.Sub(c.Sent))
	}
	n, err := s.store.CountSends(ctx, c.Address, now, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if n > codesPerDay {
		return ErrTooManyCodes
	}
	code := randomDigits(6)
	c.Hash = keyedHash(s.secret, "code", c.ID, code)
	c.Expires, c.Sent, c.Tries = now.Add(codeTTL), now, 0
	if err := s.store.PutCode(ctx, *c); err != nil {
		return err
	}
	if !reveal {
		code = ""
	}
	if err := s.delivery.send(ctx, c.Address, subject, fmtCode(text, code)); err != nil {
		s.log.Error().Err(err).Str("to", mask(c.Address)).Msg("send code")
		return &Error{Code: "delivery_failed", Status: 502, Message: "The code could not be sent: try again in a minute."}
	}
	s.log.Info().Str("to", mask(c.Address)).Str("purpose", c.Purpose).Msg("code sent")
	return nil
}

func fmtCode(text, code string) string {
	if code == "" {
		return text
	}
	return strings.Replace(text, "%s", code, 1)
}

// isErr reports whether err is the *Error e (by code).
func isErr(err error, e *Error) bool {
	var got *Error
	return errors.As(err, &got) && got.Code == e.Code
}
