package e2e

import (
	"encoding/json"
	"fmt"
	"io"
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
