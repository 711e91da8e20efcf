package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/smtptest"
)

// alertsReceived is what a local webhook and ntfy endpoint received.
type alertsReceived struct {
	mu      sync.Mutex
	webhook []map[string]any
	ntfy    []http.Header
}

func (r *alertsReceived) counts() (webhook, ntfy int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.webhook), len(r.ntfy)
}

// alertsReceiver starts a local webhook (/hook) and ntfy-like endpoint
// (/ntfy/cloudkeep) and returns what they receive and their base URL.
func alertsReceiver(t *testing.T) (*alertsReceived, string) {
	got := &alertsReceived{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		got.mu.Lock()
		defer got.mu.Unlock()
		switch req.URL.Path {
		case "/hook":
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("webhook body %q: %v", body, err)
			}
			got.webhook = append(got.webhook, m)
		case "/ntfy/cloudkeep":
			req.Header.Set("X-Body", string(body))
			got.ntfy = append(got.ntfy, req.Header)
		}
	}))
	t.Cleanup(srv.Close)
	return got, srv.URL
}

// alertsWorld is a world whose agent tells a local webhook, an ntfy-like
// endpoint and a real SMTP server after alert_after: 2s.
func alertsWorld(t *testing.T) (*world, *alertsReceived, *smtptest.Server) {
	w := newWorld(t)
	got, url := alertsReceiver(t)
	mail := smtptest.New(t)
	w.top = fmt.Sprintf(`settle: 200ms
shutdown_grace: 1s
alerts:
  alert_after: 2s
  quiet_days: 0
  webhook: %s/hook
  ntfy: %s/ntfy/cloudkeep
  email:
    smtp: %s
    from: cloudkeep@example.org
    to: [me@example.org]
    starttls: false
  desktop: false
`, url, url, mail.Addr())
	w.writeConfig("")
	return w, got, mail
}

// The storage stops answering for longer than alert_after: each receiver
// is told once, nothing more while it stays down, and once that it is
// resolved when it answers again.
func TestAlerts_StorageDownOpenOnceResolvedOnce(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	w, got, mail := alertsWorld(t)
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	w.top += "metrics:\n  listen: " + web + "\n"
	w.writeConfig("")
	r := w.startAgent()
	w.srv.Kill()
	w.file("IMG_0001.jpg", jpegHeader(t), 64<<10, 1)

	m := mail.Wait(t, "me@example.org", 1)
	if m.Subject != "cloudkeep on laptop: storage unreachable" || !strings.Contains(m.Body, "does not answer") {
		t.Errorf("email: %+v", m)
	}
	w.eventually(10*time.Second, "the webhook and ntfy are told", func() bool { a, b := got.counts(); return a == 1 && b == 1 })
	got.mu.Lock()
	hook, ntfy := got.webhook[0], got.ntfy[0]
	got.mu.Unlock()
	if hook["cause"] != "storage_unreachable" || hook["state"] != "open" || hook["subject"] != "storage unreachable" || hook["device"] != "laptop" {
		t.Errorf("webhook: %v", hook)
	}
	if ntfy.Get("Title") != "cloudkeep on laptop: storage unreachable" || ntfy.Get("Priority") != "high" || ntfy.Get("Tags") != "warning" {
		t.Errorf("ntfy: %v", ntfy)
	}
	st := w.run("status")
	if !strings.Contains(st.stdout, "alerts open: storage unreachable for ") {
		t.Errorf("status does not show the alert:\n%s", st.stdout)
	}
	if s, ok := r.status(); !ok || len(s.Alerts) != 1 || s.Alerts[0].Cause != "storage_unreachable" {
		t.Errorf("status --json alerts: %+v", s.Alerts)
	}

	if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, "\ncloudkeep_alerts_open{cause=\"storage_unreachable\"} 1\n") ||
		!strings.Contains(m, "\ncloudkeep_alerts_open{cause=\"files_failing\"} 0\n") {
		t.Errorf("metrics:\n%s", m)
	}
	time.Sleep(6 * time.Second) // three looks at the causes while it stays down
	if a, b := got.counts(); a != 1 || b != 1 || len(mail.Messages("")) != 1 {
		t.Fatalf("told again while down: webhook %d, ntfy %d, email %d", a, b, len(mail.Messages("")))
	}
	// A restart while it is still down neither tells it again nor
	// forgets it.
	r.stop()
	r = w.startAgent()
	time.Sleep(6 * time.Second)
	if a, b := got.counts(); a != 1 || b != 1 || len(mail.Messages("")) != 1 {
		t.Fatalf("told again after a restart: webhook %d, ntfy %d, email %d", a, b, len(mail.Messages("")))
	}
	if s, ok := r.status(); !ok || len(s.Alerts) != 1 || s.Alerts[0].Cause != "storage_unreachable" {
		t.Errorf("status --json alerts after a restart: %+v", s.Alerts)
	}

	w.srv.Restart(t)
	resolved := mail.Wait(t, "me@example.org", 2)
	if resolved.Subject != "cloudkeep on laptop: resolved: storage unreachable" {
		t.Errorf("email: %+v", resolved)
	}
	w.eventually(10*time.Second, "the webhook and ntfy are told it is resolved", func() bool { a, b := got.counts(); return a == 2 && b == 2 })
	got.mu.Lock()
	hook, ntfy = got.webhook[1], got.ntfy[1]
	got.mu.Unlock()
	if hook["cause"] != "storage_unreachable" || hook["state"] != "resolved" {
		t.Errorf("webhook: %v", hook)
	}
	if ntfy.Get("Title") != "cloudkeep on laptop: resolved: storage unreachable" || ntfy.Get("Tags") != "white_check_mark" {
		t.Errorf("ntfy: %v", ntfy)
	}
	w.eventually(20*time.Second, "the photo is uploaded", func() bool { return w.objects()["alice/laptop/pictures/IMG_0001.jpg"] != "" })
	if st := w.run("status"); strings.Contains(st.stdout, "alerts open") {
		t.Errorf("status still shows an alert:\n%s", st.stdout)
	}
	w.eventually(5*time.Second, "the metric says no alert is open", func() bool {
		return strings.Contains(get(t, "http://"+web+"/metrics"), "\ncloudkeep_alerts_open{cause=\"storage_unreachable\"} 0\n")
	})
	time.Sleep(3 * time.Second)
	if a, b := got.counts(); a != 2 || b != 2 || len(mail.Messages("")) != 2 {
		t.Errorf("want one open and one resolved each: webhook %d, ntfy %d, email %d", a, b, len(mail.Messages("")))
	}
}

// A file that keeps failing (the agent may not read it) is told once, as
// one alert naming it, and resolved once it is stored.
func TestAlerts_FileFailingToldOnce(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the agent as another user than the files' owner")
	}
	w, got, mail := alertsWorld(t)
	w.asUser = &userIDs{uid: 65534, gid: 65534}
	w.startAgent()
	src, path := filepath.Join(w.dir, "IMG_0002.jpg"), filepath.Join(w.photos, "IMG_0002.jpg")
	b := make([]byte, 50_000)
	copy(b, jpegHeader(t))
	if err := os.WriteFile(src, b, 0o600); err != nil { // unreadable to the agent
		t.Fatal(err)
	}
	if err := os.Rename(src, path); err != nil {
		t.Fatal(err)
	}

	m := mail.Wait(t, "me@example.org", 1)
	if m.Subject != "cloudkeep on laptop: 1 file fails to upload" || !strings.Contains(m.Body, path+": ") || !strings.Contains(m.Body, "permission denied") {
		t.Errorf("email: %+v", m)
	}
	w.eventually(10*time.Second, "the webhook is told", func() bool { a, _ := got.counts(); return a == 1 })
	got.mu.Lock()
	hook := got.webhook[0]
	got.mu.Unlock()
	if hook["cause"] != "files_failing" || hook["state"] != "open" || !strings.Contains(fmt.Sprint(hook["detail"]), path) {
		t.Errorf("webhook: %v", hook)
	}
	time.Sleep(5 * time.Second)
	if a, b := got.counts(); a != 1 || b != 1 || len(mail.Messages("")) != 1 {
		t.Errorf("told again while failing: webhook %d, ntfy %d, email %d", a, b, len(mail.Messages("")))
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if m := mail.Wait(t, "me@example.org", 2); m.Subject != "cloudkeep on laptop: resolved: 1 file fails to upload" {
		t.Errorf("email: %+v", m)
	}
	if w.sizes()["alice/laptop/pictures/IMG_0002.jpg"] != 50_000 {
		t.Errorf("resolved before the photo is stored")
	}
}

// In account mode the device learns its account's use after each upload:
// above 90 % of the quota it says so at once, and that it is resolved once
// the quota is raised and the next upload tells it.
func TestAlerts_QuotaNearlyFull(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	s := startStack(t, stackOptions{quota: "10MiB"})
	id := s.signup("hal@example.com", "hal-pass-88")
	w := newWorldOn(t, s.srv, s.url)
	got, url := alertsReceiver(t)
	w.top = "settle: 200ms\nalerts:\n  alert_after: 2s\n  webhook: " + url + "/hook\n  desktop: false\n"
	w.writeConfig("")
	w.login(s, id, "hal-pass-88", "hal@example.com")
	w.startAgent()
	w.file("big.mp4", mp4Header, 9*MiB+512<<10, 1)
	w.eventually(30*time.Second, "the webhook is told the quota is nearly used", func() bool { a, _ := got.counts(); return a == 1 })
	got.mu.Lock()
	hook := got.webhook[0]
	got.mu.Unlock()
	if hook["cause"] != "quota" || hook["state"] != "open" || hook["subject"] != "storage 95% full (9.5 MiB of 10 MiB)" {
		t.Errorf("webhook: %v", hook)
	}
	if st := w.run("status"); !strings.Contains(st.stdout, "alerts open: storage 95% full (9.5 MiB of 10 MiB) for ") {
		t.Errorf("status:\n%s", st.stdout)
	}
	s.setQuota(id, "100MiB")
	w.file("small.jpg", jpegHeader(t), 10<<10, 2)
	w.eventually(30*time.Second, "the webhook is told it is resolved", func() bool { a, _ := got.counts(); return a == 2 })
	got.mu.Lock()
	hook = got.webhook[1]
	got.mu.Unlock()
	if hook["cause"] != "quota" || hook["state"] != "resolved" {
		t.Errorf("webhook: %v", hook)
	}
}

// Receivers that fail when an alert opens, and an agent stopped before
// they work again: the opening is sent after the restart, before its
// resolution; `cloudkeep status` without an agent shows it open.
func TestAlerts_UndeliveredOpenSurvivesRestart(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	w := newWorld(t)
	var mu sync.Mutex
	failing, tries := true, 0
	var hooks []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		mu.Lock()
		defer mu.Unlock()
		if failing {
			tries++
			rw.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		hooks = append(hooks, m)
	}))
	t.Cleanup(srv.Close)
	w.top = "settle: 200ms\nshutdown_grace: 1s\nalerts:\n  alert_after: 2s\n  quiet_days: 0\n  webhook: " + srv.URL + "/hook\n  desktop: false\n"
	w.writeConfig("")
	r := w.startAgent()
	w.srv.Kill()
	w.file("IMG_0001.jpg", jpegHeader(t), 64<<10, 1)
	w.eventually(20*time.Second, "the webhook is tried and fails", func() bool { mu.Lock(); defer mu.Unlock(); return tries > 0 })
	r.stop()
	if st := w.run("status"); !strings.Contains(st.stdout, "alerts open: storage unreachable for ") {
		t.Errorf("status without an agent does not show the alert:\n%s", st.stdout)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	w.startAgent()
	w.eventually(20*time.Second, "the opening is sent after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) >= 1 })
	w.srv.Restart(t)
	w.eventually(30*time.Second, "the resolution is sent", func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 2 || hooks[0]["state"] != "open" || hooks[0]["cause"] != "storage_unreachable" || hooks[1]["state"] != "resolved" {
		t.Fatalf("webhook got %v, want storage_unreachable open, then resolved", hooks)
	}
	if hooks[1]["time"] == hooks[0]["time"] || hooks[1]["since"] != hooks[0]["since"] {
		t.Errorf("resolved time %v since %v, open time %v since %v: want the resolution's own time, the same since", hooks[1]["time"], hooks[1]["since"], hooks[0]["time"], hooks[0]["since"])
	}
}

// A mail server that accepts and never greets does not hold the agent's
// stop: it ends within a second or two, not after the send's timeout.
func TestAlerts_StopDoesNotWaitForHungMailServer(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never greeted
		}
	}()
	w.top = fmt.Sprintf("settle: 200ms\nshutdown_grace: 10s\nalerts:\n  alert_after: 1s\n  quiet_days: 0\n  email:\n    smtp: %s\n    from: cloudkeep@example.org\n    to: [me@example.org]\n    starttls: false\n  desktop: false\n", l.Addr())
	w.writeConfig("")
	if err := os.Remove(w.photos); err != nil { // a folder missing: an alert, and no upload to hold the stop
		t.Fatal(err)
	}
	r := w.startAgent()
	select {
	case c := <-accepted:
		t.Cleanup(func() { c.Close() })
	case <-time.After(30 * time.Second):
		t.Fatal("the agent never connected to the mail server")
	}
	code, took := r.stop()
	if code != 0 || took > 3*time.Second {
		t.Errorf("stop: exit %d after %s, want 0 within 3s", code, took)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "alert messages left unsent: they are sent at the next start") {
		t.Errorf("the log does not say an alert was left unsent:\n%s", logs)
	}
}

// A file that keeps failing with its alert open, across a restart: no
// "resolved" and no second opening while it still fails.
func TestAlerts_FileFailingStaysOpenAcrossRestart(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the agent as another user than the files' owner")
	}
	w, got, _ := alertsWorld(t)
	w.top = strings.Replace(w.top, "alert_after: 2s", "alert_after: 20s", 1)
	w.writeConfig("")
	w.asUser = &userIDs{uid: 65534, gid: 65534}
	r := w.startAgent()
	src, path := filepath.Join(w.dir, "IMG_0003.jpg"), filepath.Join(w.photos, "IMG_0003.jpg")
	b := make([]byte, 50_000)
	copy(b, jpegHeader(t))
	if err := os.WriteFile(src, b, 0o600); err != nil { // unreadable to the agent
		t.Fatal(err)
	}
	if err := os.Rename(src, path); err != nil {
		t.Fatal(err)
	}
	w.eventually(60*time.Second, "the webhook is told the file fails", func() bool { a, _ := got.counts(); return a == 1 })
	r.stop()
	w.startAgent()
	time.Sleep(45 * time.Second) // past the warm-up and alert_after
	got.mu.Lock()
	hooks := append([]map[string]any(nil), got.webhook...)
	got.mu.Unlock()
	if len(hooks) != 1 {
		t.Fatalf("webhook got %v after a restart while the file still fails, want the one opening", hooks)
	}
	if st := w.run("status"); !strings.Contains(st.stdout, "alerts open: 1 file fails to upload for ") {
		t.Errorf("status:\n%s", st.stdout)
	}
}

// `config check` shows neither the password of a webhook URL without a
// path nor, when the URL is wrong, its path.
func TestAlerts_ConfigCheckHidesWebhookSecrets(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the alerts' mail and webhooks")
	w := newWorld(t)
	w.top = "alerts:\n  webhook: https://user:PASSWD@hooks.example.org\n  desktop: false\n"
	w.writeConfig("")
	res := w.run("config", "check")
	if strings.Contains(res.stdout+res.stderr, "PASSWD") || !strings.Contains(res.stdout, "webhook: https://hooks.example.org/<redacted>") {
		t.Errorf("config check (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	w.top = "alerts:\n  webhook: htps://hooks.slack.com/services/T0/B0/SECRETXYZ\n  desktop: false\n"
	w.writeConfig("")
	res = w.run("config", "check")
	if res.code == 0 || strings.Contains(res.stdout+res.stderr, "SECRETXYZ") || !strings.Contains(res.stderr, `alerts.webhook: "htps://hooks.slack.com/<redacted>" is not an http or https URL`) {
		t.Errorf("config check (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}
