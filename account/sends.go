package account

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Send budgets. Each is spent in one atomic step before a code is sent;
// a send that is refused spends nothing.
const (
	budgetDay         = 24 * time.Hour
	signinCodesPerDay = 10 // per address: sign-in codes only, which need the password
	signupCodesPerDay = 5  // per address: sign-up PINs
	signupsPerClient  = 20 // per client address a day: sign-ups and resends
	existsMailsPerDay = 1  // per address: "this address already has an account"
)

// ErrTooManySignups refuses a sign-up from a client address that made
// many today.
var ErrTooManySignups = &Error{Code: "too_many_signups", Status: 429,
	Message: "Too many sign-ups from your network today: try again tomorrow."}

// budget is one limit on sends: at most limit per window under key.
type budget struct {
	key     string
	window  time.Duration
	limit   int
	refused func(wait time.Duration) error // the answer when it is used up
}

func tooManyCodes(time.Duration) error          { return ErrTooManyCodes }
func tooManySignups(time.Duration) error        { return ErrTooManySignups }
func resendTooSoonErr(wait time.Duration) error { return resendTooSoon(wait) }

// budgetKey names the budget kind of address without holding the address.
func (s *Service) budgetKey(kind, address string) string {
	return kind + ":" + keyedHash(s.secret, "budget", kind, address)
}

// signinBudgets limit the sign-in codes sent to address: a budget of its
// own, which sign-ups cannot spend.
func (s *Service) signinBudgets(address string) []budget {
	return []budget{{s.budgetKey("signin", address), budgetDay, signinCodesPerDay, tooManyCodes}}
}

// signupBudgets limit the PINs sent to address for sign-ups from the client
// address ip: one a minute and a few a day per address, and some a day
// per client address.
func (s *Service) signupBudgets(address, ip string) []budget {
	return []budget{
		{s.budgetKey("resend", address), resendAfter, 1, resendTooSoonErr},
		{s.budgetKey("signup", address), budgetDay, signupCodesPerDay, tooManyCodes},
		{s.budgetKey("signup-client", ip), budgetDay, signupsPerClient, tooManySignups},
	}
}

// spend spends one send from each budget in turn. When one is used up, it
// gives back what it spent and returns that budget's refusal.
func (s *Service) spend(ctx context.Context, bs []budget) ([]string, error) {
	now := s.now()
	var spent []string
	for _, b := range bs {
		got, ok, err := s.store.SpendBudget(ctx, b.key, now, b.window, b.limit)
		if err == nil && ok {
			spent = append(spent, b.key)
			continue
		}
		s.refund(ctx, spent)
		if err != nil {
			return nil, fmt.Errorf("spend send budget: %w", err)
		}
		return nil, b.refused(got.Resets.Sub(now))
	}
	return spent, nil
}

// refund gives back sends that were not made. It runs even when ctx is
// cancelled.
func (s *Service) refund(ctx context.Context, keys []string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		if err := s.store.RefundBudget(ctx, k); err != nil {
			s.log.Error().Err(err).Msg("refund send budget")
		}
	}
}

// message is what a code goes out with; text holds %s for the code,
// unless the code is not revealed.
type message struct {
	subject, text string
	reveal        bool
}

var (
	signinMessage = message{"Your cloudkeep sign-in code",
		"Your cloudkeep sign-in code is %s. It is valid for 10 minutes. Never share it.", true}
	pinMessage = message{"Your cloudkeep verification PIN",
		"Your cloudkeep verification PIN is %s. It is valid for 10 minutes.", true}
)

// existsMessage tells an address that already has an account about a
// sign-up with it.
func (s *Service) existsMessage() message {
	return message{"Your cloudkeep account",
		"Someone, maybe you, tried to create a cloudkeep account with this address, which already has one. " +
			"Sign in at " + s.cfg.Issuer + "/signin instead. If it was not you, you can ignore this message.", false}
}

// newCode gives c a fresh code, valid for codeTTL, stores c and returns
// the code.
func (s *Service) newCode(ctx context.Context, c *Code) (string, error) {
	now := s.now()
	code := randomDigits(6)
	c.Hash = keyedHash(s.secret, "code", c.ID, code)
	c.Expires, c.Sent, c.Tries, c.Verified = now.Add(codeTTL), now, 0, false
	if err := s.store.PutCode(ctx, *c); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	return code, nil
}

// deliver sends m, with code, to c's address.
func (s *Service) deliver(ctx context.Context, c *Code, m message, code string) error {
	text := m.text
	if m.reveal {
		text = strings.Replace(text, "%s", code, 1)
	}
	if err := s.delivery.send(ctx, c.kind(), c.Address, m.subject, text); err != nil {
		s.log.Error().Err(err).Str("to", mask(c.Address)).Msg("send code")
		return &Error{Code: "delivery_failed", Status: 502, Message: "The code could not be sent: try again in a minute."}
	}
	s.log.Info().Str("to", mask(c.Address)).Str("purpose", c.Purpose).Msg("code sent")
	return nil
}

// sendCode spends the budgets, gives c a fresh code and sends it with m.
// Nothing is spent when a budget refuses or the send fails.
func (s *Service) sendCode(ctx context.Context, c *Code, m message, bs []budget) error {
	spent, err := s.spend(ctx, bs)
	if err != nil {
		return err
	}
	code, err := s.newCode(ctx, c)
	if err == nil {
		err = s.deliver(ctx, c, m, code)
	}
	if err != nil {
		s.refund(ctx, spent)
	}
	return err
}

// kind is what c's address is. Codes stored before the kind was kept are
// told apart by the address.
func (c Code) kind() AddressKind {
	if c.Kind != "" {
		return c.Kind
	}
	if strings.HasPrefix(c.Address, "+") && !strings.Contains(c.Address, "@") {
		return KindPhone
	}
	return KindEmail
}
