package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"
)

// Alert defaults.
const (
	DefaultAlertAfter = time.Hour
	DefaultQuietDays  = 3
	// MinAlertAfter is small so that a test can wait seconds; people set
	// minutes or hours.
	MinAlertAfter = time.Second
)

// Alerts say who is told when something is wrong, and when.
type Alerts struct {
	// AlertAfter is how long a cause must last before it is told; default 1h.
	AlertAfter Duration `yaml:"alert_after"`
	// QuietDays: tell when nothing was uploaded for this many days while
	// files wait; default 3, 0: never.
	QuietDays     int        `yaml:"quiet_days"`
	Webhook       string     `yaml:"webhook"`         // JSON POST to this URL
	Ntfy          string     `yaml:"ntfy"`            // an ntfy topic URL, e.g. https://ntfy.sh/my-topic
	NtfyTokenFile string     `yaml:"ntfy_token_file"` // a file holding the ntfy access token
	Email         AlertEmail `yaml:"email"`
	// Desktop shows a notification through the session's D-Bus
	// (org.freedesktop.Notifications) when there is one; default true.
	Desktop bool `yaml:"desktop"`
}

// AlertEmail sends alerts by email.
type AlertEmail struct {
	SMTP         string   `yaml:"smtp"` // host:port
	From         string   `yaml:"from"`
	To           []string `yaml:"to"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	StartTLS     bool     `yaml:"starttls"` // default true
}

// Any reports whether a is set to tell anyone but the desktop.
func (a Alerts) Any() bool {
	return a.Webhook != "" || a.Ntfy != "" || a.Email.SMTP != ""
}

// redacted is a without the user, paths and queries of its URLs: a
// webhook's path often holds its token, and anyone who knows an ntfy
// topic may read it.
func (a Alerts) redacted() Alerts {
	for _, u := range []*string{&a.Webhook, &a.Ntfy} {
		if p, err := url.Parse(*u); err == nil && p.Host != "" && (p.Path != "" || p.RawQuery != "" || p.User != nil) {
			*u = redactURL(*u)
		}
	}
	return a
}

// redactURL is u with its scheme and host alone: "https://hooks.example.org/…".
// Anything else may be a secret.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return redacted
	}
	if p.Host == "" {
		return p.Scheme + ":" + redacted
	}
	return p.Scheme + "://" + p.Hostname() + portOf(p) + "/" + redacted
}

func portOf(p *url.URL) string {
	if port := p.Port(); port != "" {
		return ":" + port
	}
	return ""
}

// alertWarnings: an ntfy token sent over plain http.
func (c *Agent) alertWarnings() []*Error {
	a := c.Alerts
	if p, err := url.Parse(a.Ntfy); err == nil && p.Scheme == "http" && a.NtfyTokenFile != "" {
		return []*Error{c.source.errorf("alerts.ntfy_token_file", "the token is sent over plain http to %s, where anyone on the way can read it: use an https:// topic URL", p.Hostname())}
	}
	return nil
}

// validateAlerts checks alerts:.
func (c *Agent) validateAlerts(v *validator) {
	a := c.Alerts
	v.atLeast("alerts.alert_after", a.AlertAfter, MinAlertAfter)
	if a.QuietDays < 0 || a.QuietDays > 3650 {
		v.add("alerts.quiet_days", "%d is out of range 0 (never) to 3650", a.QuietDays)
	}
	for key, u := range map[string]string{"alerts.webhook": a.Webhook, "alerts.ntfy": a.Ntfy} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.add(key, "%q is not an http or https URL, e.g. https://hooks.example.org/… (the rest of it is not shown: it may hold a secret)", redactURL(u))
		}
	}
	if a.Ntfy == "" && a.NtfyTokenFile != "" {
		v.add("alerts.ntfy_token_file", "set alerts.ntfy too: the token is for an ntfy topic")
	}
	v.secretFile("alerts.ntfy_token_file", a.NtfyTokenFile)
	c.validateAlertEmail(v)
}

func (c *Agent) validateAlertEmail(v *validator) {
	e := c.Alerts.Email
	if e.SMTP == "" {
		if e.From != "" || len(e.To) > 0 || e.Username != "" || e.PasswordFile != "" {
			v.add("alerts.email.smtp", "required to send alerts by email: the mail server's host:port, e.g. smtp.example.org:587")
		}
		return
	}
	if host, port, err := net.SplitHostPort(e.SMTP); err != nil || host == "" {
		v.add("alerts.email.smtp", "%q must be host:port, e.g. smtp.example.org:587", e.SMTP)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.add("alerts.email.smtp", "%q: the port must be a number from 1 to 65535", e.SMTP)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		v.add("alerts.email.from", "%q is not an email address", e.From)
	}
	if len(e.To) == 0 {
		e := v.src.errorf("alerts.email", "required: who gets the alerts, e.g. [me@example.org]")
		e.Key = "alerts.email.to"
		v.errs = append(v.errs, e)
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			v.add(fmt.Sprintf("alerts.email.to[%d]", i), "%q is not an email address", to)
		}
	}
	if _, port, _ := net.SplitHostPort(e.SMTP); e.Username != "" && !e.StartTLS && port != "465" {
		v.add("alerts.email.username", "the password would go in plain text, which mail servers and cloudkeep refuse: set alerts.email.starttls: true, or use port 465 (TLS from the start), or remove the username for a local relay without authentication")
	}
	if e.Username != "" && e.PasswordFile == "" {
		v.add("alerts.email.password_file", "required with alerts.email.username: a file holding the SMTP password (mode 0600)")
	}
	v.secretFile("alerts.email.password_file", e.PasswordFile)
}

// alertsDefaults fills what alerts: leaves out.
func (c *Agent) alertsDefaults() {
	a := &c.Alerts
	setIfZero(&a.AlertAfter, Duration(DefaultAlertAfter))
	if !c.source.zero["alerts.quiet_days"] { // 0 in the file: never
		setIfZero(&a.QuietDays, DefaultQuietDays)
	}
	if !c.source.zero["alerts.desktop"] {
		a.Desktop = true
	}
	if !c.source.zero["alerts.email.starttls"] {
		a.Email.StartTLS = true
	}
	a.NtfyTokenFile = ExpandHome(a.NtfyTokenFile)
	a.Email.PasswordFile = ExpandHome(a.Email.PasswordFile)
}
