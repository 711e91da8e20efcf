package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/alerts"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
)

// configureAlerts sets up the agent's alerts from cfg: the senders, with
// their secrets read from their files.
func configureAlerts(a *agent.Agent, cfg *config.Agent, be *backend) error {
	c := cfg.Alerts
	a.AlertAfter, a.QuietDays = time.Duration(c.AlertAfter), c.QuietDays
	if c.Webhook != "" {
		a.AlertSenders = append(a.AlertSenders, &alerts.Webhook{URL: c.Webhook})
	}
	if c.Ntfy != "" {
		token, err := optionalSecret("alerts.ntfy_token_file", c.NtfyTokenFile)
		if err != nil {
			return err
		}
		a.AlertSenders = append(a.AlertSenders, &alerts.Ntfy{URL: c.Ntfy, Token: token})
	}
	if e := c.Email; e.SMTP != "" {
		password, err := optionalSecret("alerts.email.password_file", e.PasswordFile)
		if err != nil {
			return err
		}
		a.AlertSenders = append(a.AlertSenders, &alerts.Email{Addr: e.SMTP, From: e.From, To: e.To,
			Username: e.Username, Password: password, StartTLS: e.StartTLS})
	}
	if be.granted != nil {
		a.QuotaUse = be.granted.Usage
	}
	// A system service has no session bus: desktop stays quiet there.
	if c.Desktop && alerts.SessionBus() != "" {
		a.AlertSenders = append(a.AlertSenders, &alerts.Desktop{})
	}
	return nil
}

// optionalSecret reads the secret file at path for key, or returns "" when
// path is "".
func optionalSecret(key, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	s, err := config.ReadSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

// printAlerts writes the alerts open, if any:
//
//	alerts open: storage unreachable for 1h12m (since 13:02)
func printAlerts(w io.Writer, s agent.Status, now time.Time) {
	if len(s.Alerts) == 0 {
		return
	}
	parts := make([]string, len(s.Alerts))
	for i, al := range s.Alerts {
		parts[i] = fmt.Sprintf("%s for %s (since %s)", al.Subject, lasted(now.Sub(al.Since)), sinceText(al.Since, now))
	}
	fmt.Fprintf(w, "alerts open: %s\n", strings.Join(parts, "; "))
}

// lasted is d for a person: "45s", "12m", "1h12m", "3d4h".
func lasted(d time.Duration) string {
	switch d = max(d, 0); {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// sinceText is t's clock time, with its day when it is not today.
func sinceText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// journalAlerts returns the alerts the journal holds open, for the status
// when no agent runs; none when it cannot read them.
func journalAlerts(ctx context.Context, j *journal.Journal) []agent.AlertStatus {
	open, err := j.OpenAlerts(ctx)
	if err != nil {
		return nil
	}
	out := make([]agent.AlertStatus, 0, len(open))
	for _, o := range open {
		out = append(out, agent.AlertStatus{Cause: o.Cause, Subject: o.Subject, Since: o.Since})
	}
	return out
}
