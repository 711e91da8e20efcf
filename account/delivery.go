package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wneessen/go-mail"
)

// Sender delivers a short message to an address (an email address or an
// E.164 phone number).
type Sender interface {
	Send(ctx context.Context, to, subject, text string) error
}

// SMTPSender sends email through an SMTP server.
type SMTPSender struct {
	Host, Username, Password, From string
	Port                           int
	StartTLS                       bool
}

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, to, subject, text string) error {
	m := mail.NewMsg()
	if err := m.From(s.From); err != nil {
		return fmt.Errorf("email from %q: %w", s.From, err)
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("email to: %w", err)
	}
	m.Subject(subject)
	m.SetBodyString(mail.TypeTextPlain, text)
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(20 * time.Second)}
	if s.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("email via %s: %w", s.Host, err)
	}
	return nil
}

// WebhookSender sends text messages through an SMS gateway: it POSTs
// {"to": …, "text": …} with an Authorization header.
type WebhookSender struct {
	URL        string
	AuthHeader string
	Client     *http.Client
}

// Send implements Sender.
func (w *WebhookSender) Send(ctx context.Context, to, _, text string) error {
	body, _ := json.Marshal(map[string]string{"to": to, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.AuthHeader != "" {
		req.Header.Set("Authorization", w.AuthHeader)
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms gateway answered %s", resp.Status)
	}
	return nil
}

// Outbox is the development Sender: messages are appended to a file (mode
// 0600) and printed, never sent.
type Outbox struct {
	Path    string
	Console io.Writer
	mu      sync.Mutex
}

// Send implements Sender.
func (o *Outbox) Send(_ context.Context, to, subject, text string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	line := fmt.Sprintf("%s to=%s subject=%q text=%q\n", time.Now().UTC().Format(time.RFC3339), to, subject, text)
	f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		return err
	}
	if o.Console != nil {
		fmt.Fprint(o.Console, "outbox: ", line)
	}
	return nil
}

// Delivery picks the Sender for an address.
type Delivery struct {
	Email Sender // may be nil
	SMS   Sender // may be nil
}

// send picks the Sender by the kind of address, never by how the address
// looks: an email address may start with "+".
func (d Delivery) send(ctx context.Context, kind AddressKind, to, subject, text string) error {
	s, what := d.Email, "email addresses"
	if kind == KindPhone {
		s, what = d.SMS, "phone numbers"
	}
	if s == nil {
		return fmt.Errorf("no way to send codes to %s is configured", what)
	}
	return s.Send(ctx, to, subject, text)
}

// mask hides most of an address: "a•••@example.com", "+49•••••78". It
// counts characters, not bytes.
func mask(address string) string {
	if at := strings.IndexByte(address, '@'); at > 0 {
		first, _ := utf8.DecodeRuneInString(address)
		return string(first) + "•••" + address[at:]
	}
	r := []rune(address)
	if len(r) > 5 {
		return string(r[:3]) + strings.Repeat("•", len(r)-5) + string(r[len(r)-2:])
	}
	return address
}
