package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
)

func TestLoad_AlertsDefaults(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if time.Duration(a.AlertAfter) != time.Hour || a.QuietDays != 3 || !a.Desktop || !a.Email.StartTLS || a.Any() {
		t.Errorf("got %+v, want alert_after 1h, quiet_days 3, desktop and starttls on, no receiver", a)
	}
}

func TestLoad_Alerts(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	token, password := filepath.Join(dir, "ntfy-token"), filepath.Join(dir, "smtp-password")
	for _, p := range []string{token, password} {
		if err := os.WriteFile(p, []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Load(write(t, valid+`alerts:
  alert_after: 2s
  quiet_days: 0
  webhook: https://example.org/hook
  ntfy: https://ntfy.sh/my-topic
  ntfy_token_file: `+token+`
  email:
    smtp: smtp.example.org:587
    from: cloudkeep@example.org
    to: [me@example.org]
    username: me
    password_file: `+password+`
  desktop: false
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if time.Duration(a.AlertAfter) != 2*time.Second || a.QuietDays != 0 || a.Desktop || !a.Any() ||
		a.Email.To[0] != "me@example.org" || a.NtfyTokenFile != token {
		t.Errorf("got %+v", a)
	}
}

func TestLoad_AlertsErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	private := filepath.Join(dir, "private")
	os.WriteFile(open, []byte("secret"), 0o644)
	os.WriteFile(private, []byte("secret"), 0o600)
	for _, tc := range []struct {
		name, alerts string
		want         string // what follows "<file>:"
	}{
		{"alert_after too small", "  alert_after: 500ms\n", "28: alerts.alert_after: 500ms is below the minimum of 1s"},
		{"quiet_days negative", "  quiet_days: -1\n", "28: alerts.quiet_days: -1 is out of range 0 (never) to 3650"},
		{"webhook not a URL", "  webhook: example.org/hook\n", `28: alerts.webhook: "<redacted>" is not an http or https URL, e.g. https://hooks.example.org/… (the rest of it is not shown: it may hold a secret)`},
		{"webhook scheme misspelt", "  webhook: htps://hooks.slack.com/services/T0/B0/SECRETXYZ\n", `28: alerts.webhook: "htps://hooks.slack.com/<redacted>" is not an http or https URL`},
		{"email to missing", "  email:\n    smtp: smtp.example.org:587\n    from: a@example.org\n",
			`29: alerts.email.to: required: who gets the alerts, e.g. [me@example.org]`},
		{"username without starttls", "  email:\n    smtp: smtp.example.org:587\n    from: a@example.org\n    to: [b@example.org]\n    username: me\n    password_file: " + private + "\n    starttls: false\n",
			`32: alerts.email.username: the password would go in plain text, which mail servers and cloudkeep refuse: set alerts.email.starttls: true, or use port 465`},
		{"token without ntfy", "  ntfy_token_file: " + private + "\n", "28: alerts.ntfy_token_file: set alerts.ntfy too: the token is for an ntfy topic"},
		{"token readable", "  ntfy: https://ntfy.sh/t\n  ntfy_token_file: " + open + "\n",
			"29: alerts.ntfy_token_file: " + open + " can be read by others (mode 0644): run `chmod 600 " + open + "`"},
		{"smtp without port", "  email:\n    smtp: smtp.example.org\n    from: a@example.org\n    to: [b@example.org]\n",
			`29: alerts.email.smtp: "smtp.example.org" must be host:port, e.g. smtp.example.org:587`},
		{"bad recipient", "  email:\n    smtp: smtp.example.org:587\n    from: a@example.org\n    to: [nobody]\n",
			`31: alerts.email.to[0]: "nobody" is not an email address`},
		{"username without password", "  email:\n    smtp: smtp.example.org:587\n    from: a@example.org\n    to: [b@example.org]\n    username: me\n",
			" alerts.email.password_file: required with alerts.email.username: a file holding the SMTP password (mode 0600)"},
		{"email without smtp", "  email:\n    to: [b@example.org]\n",
			" alerts.email.smtp: required to send alerts by email: the mail server's host:port, e.g. smtp.example.org:587"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, valid+"alerts:\n"+tc.alerts)
			_, err := config.Load(path)
			if err == nil || !strings.Contains(err.Error(), path+":"+tc.want) {
				t.Errorf("got %v, want %s:%s", err, path, tc.want)
			}
		})
	}
}

// `config check` shows where alerts go, without the tokens in their URLs.
// An ntfy token over plain http is a warning.
func TestWarnings_NtfyTokenOverHTTP(t *testing.T) {
	clearEnv(t)
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("tk_x"), 0o600)
	c, err := config.Load(write(t, valid+"alerts:\n  ntfy: http://ntfy.example.org/t\n  ntfy_token_file: "+tok+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Error())
	}
	if s := strings.Join(got, "\n"); !strings.Contains(s, "alerts.ntfy_token_file: the token is sent over plain http to ntfy.example.org") {
		t.Errorf("warnings: %s", s)
	}
}

func TestRedacted_AlertURLs(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid+"alerts:\n  webhook: https://hooks.example.org/services/T0/B0/XXXX\n  ntfy: https://user:PASSWD@ntfy.example.org\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"XXXX", "secret-topic", "PASSWD"} {
		if strings.Contains(string(out), leak) {
			t.Errorf("config check shows %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(string(out), "webhook: https://hooks.example.org/<redacted>") || c.Alerts.Webhook != "https://hooks.example.org/services/T0/B0/XXXX" {
		t.Errorf("redacted:\n%s", out)
	}
}
