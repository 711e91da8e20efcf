package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
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
	// TrustedProxies are load balancers whose X-Forwarded-For is believed
	// when counting failed sign-ins per client address.
	TrustedProxies []netip.Prefix
}

// Code rules.
const (
	codeTTL       = 10 * time.Minute
	codeTries     = 5
	resendAfter   = 60 * time.Second
	signupTTL     = 30 * time.Minute // from the PIN to the password
	sessionTTL    = 12 * time.Hour
	deviceAuthTTL = 10 * time.Minute
	pollInterval  = 5 * time.Second
)

// maxArgonSlots bounds the password hashes computed at once however many
// processors there are: with argonMemory each, the service stays under
// ~200 MiB.
const maxArgonSlots = 4

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
	argon    chan struct{} // a slot per password hash computed at once
}

// NewService returns the service. secret keys the hashes of codes, tokens
// and CSRF tokens; it must stay the same across restarts and replicas.
func NewService(store Store, keys *Keys, delivery Delivery, cfg Config, secret []byte, log zerolog.Logger) *Service {
	return &Service{store: store, keys: keys, delivery: delivery, cfg: cfg, secret: secret,
		log: log.With().Str("component", "accounts").Logger(), now: time.Now, captcha: defaultCaptcha{},
		argon: make(chan struct{}, min(runtime.GOMAXPROCS(0), maxArgonSlots))}
}

// tryCode counts a try at the code id of purpose, then compares entered
// with it: the count comes first, so parallel guesses get codeTries
// comparisons between them, no more. It returns the code when entered is
// right; the caller then uses it up.
func (s *Service) tryCode(ctx context.Context, id, purpose, entered string) (Code, error) {
	c, err := s.store.TryCode(ctx, id, purpose, s.now(), codeTries)
	if errors.Is(err, ErrNotFound) {
		return Code{}, s.whyNoTry(ctx, id, purpose)
	}
	if err != nil {
		return Code{}, fmt.Errorf("count code try: %w", err)
	}
	if equalHash(c.Hash, keyedHash(s.secret, "code", c.ID, strings.TrimSpace(entered))) {
		return c, nil
	}
	if c.Tries >= codeTries {
		return Code{}, ErrTooManyTries
	}
	return Code{}, wrongCode(codeTries - c.Tries)
}

// whyNoTry says why a code could not be tried: used up by wrong tries, or
// expired, spent or never there.
func (s *Service) whyNoTry(ctx context.Context, id, purpose string) error {
	c, err := s.store.Code(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && c.Purpose != purpose):
		return ErrCodeExpired
	case err != nil:
		return fmt.Errorf("read code: %w", err)
	case c.Tries >= codeTries:
		return ErrTooManyTries
	}
	return ErrCodeExpired
}

// isErr reports whether err is the *Error e (by code).
func isErr(err error, e *Error) bool {
	var got *Error
	return errors.As(err, &got) && got.Code == e.Code
}
