package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
)

var httpClient = &http.Client{Timeout: 20 * time.Second}

// post sends body to u and wants a 2xx answer. The error names the
// host, never the whole URL, which may hold a secret.
func post(ctx context.Context, what, u string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	host := req.URL.Host
	resp, err := httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL
			err = ue.Err
		}
		return fmt.Errorf("%s at %s: %w", what, host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s at %s answered %s", what, host, resp.Status)
	}
	return nil
}

// Webhook POSTs each Alert as JSON to URL.
type Webhook struct{ URL string }

// Name implements Sender.
func (w *Webhook) Name() string { return "webhook" }

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return post(ctx, "webhook", w.URL, body, http.Header{"Content-Type": {"application/json"}})
}

// Ntfy publishes each Alert to an ntfy topic (https://ntfy.sh/TOPIC or a
// server of one's own): the text as the body, with a title, a priority
// and a tag.
type Ntfy struct {
	URL   string // the topic's URL
	Token string // an access token; "" for none
}

// Name implements Sender.
func (n *Ntfy) Name() string { return "ntfy" }

// Send implements Sender.
func (n *Ntfy) Send(ctx context.Context, a Alert) error {
	h := http.Header{"Title": {a.Title()}, "Priority": {"high"}, "Tags": {"warning"}, "Content-Type": {"text/plain; charset=utf-8"}}
	if a.State == StateResolved {
		h["Priority"], h["Tags"] = []string{"default"}, []string{"white_check_mark"}
	}
	if n.Token != "" {
		h["Authorization"] = []string{"Bearer " + n.Token}
	}
	return post(ctx, "ntfy", n.URL, []byte(a.Text()), h)
}

// Email mails each Alert in plain text.
type Email struct {
	Addr     string // the SMTP server's host:port
	From     string
	To       []string
	Username string // "" for no authentication
	Password string
	// StartTLS requires STARTTLS; port 465 uses TLS from the start
	// whatever it says. Off: no TLS (a local relay).
	StartTLS bool
}

// Name implements Sender.
func (e *Email) Name() string { return "email" }

// Send implements Sender.
func (e *Email) Send(ctx context.Context, a Alert) error {
	host, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("email: port %q: %w", port, err)
	}
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("email from %q: %w", e.From, err)
	}
	if err := m.To(e.To...); err != nil {
		return fmt.Errorf("email to: %w", err)
	}
	m.Subject(a.Title())
	m.SetBodyString(mail.TypeTextPlain, a.Text())
	var mu sync.Mutex
	var stops []func() bool
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
	}()
	// go-mail bounds the dial by ctx but not the talk after it: a server
	// that accepts and never greets would hold a stop. The connection is
	// closed when ctx ends.
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if p == 465 {
			conn, err = (&tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stops = append(stops, context.AfterFunc(ctx, func() { conn.Close() }))
		mu.Unlock()
		return conn, nil
	}
	timeout := 20 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(d)), time.Millisecond)
	}
	opts := []mail.Option{mail.WithPort(p), mail.WithTimeout(timeout), mail.WithDialContextFunc(dial)}
	switch {
	case p == 465:
		opts = append(opts, mail.WithSSL())
	case e.StartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("email via %s: %w", e.Addr, err)
	}
	return nil
}
