package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/cloudkeep/cloudkeep/alerts"
	"github.com/cloudkeep/cloudkeep/internal/dbustest"
	"github.com/cloudkeep/cloudkeep/internal/smtptest"
)

var sample = alerts.Alert{Cause: "storage_unreachable", State: alerts.StateOpen, Subject: "storage unreachable",
	Detail: "The storage at 127.0.0.1:9000 does not answer: connection refused.", Device: "laptop", Account: "alice",
	Time: time.Date(2026, 3, 1, 13, 2, 0, 0, time.UTC)}

type request struct {
	header http.Header
	body   string
}

func receiver(t *testing.T, status int) (string, chan request) {
	got := make(chan request, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Header, string(b)}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook", got
}

func TestWebhook_Send(t *testing.T) {
	url, got := receiver(t, http.StatusNoContent)
	if err := (&alerts.Webhook{URL: url}).Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	r := <-got
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("body %q (%v), Content-Type %q", r.body, err, r.header.Get("Content-Type"))
	}
	want := map[string]any{"cause": "storage_unreachable", "state": "open", "subject": "storage unreachable",
		"detail": sample.Detail, "device": "laptop", "account": "alice", "time": "2026-03-01T13:02:00Z"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s: got %v, want %v", k, body[k], v)
		}
	}
}

func TestWebhook_SendRefused(t *testing.T) {
	url, _ := receiver(t, http.StatusBadGateway)
	err := (&alerts.Webhook{URL: url}).Send(context.Background(), sample)
	if err == nil || !strings.Contains(err.Error(), "answered 502 Bad Gateway") || strings.Contains(err.Error(), "/hook") {
		t.Errorf("got %v, want a 502 naming the host only", err)
	}
}

func TestNtfy_Send(t *testing.T) {
	url, got := receiver(t, http.StatusOK)
	if err := (&alerts.Ntfy{URL: url, Token: "tk_secret"}).Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	r := <-got
	for k, v := range map[string]string{"Title": "cloudkeep on laptop: storage unreachable", "Priority": "high",
		"Tags": "warning", "Authorization": "Bearer tk_secret"} {
		if r.header.Get(k) != v {
			t.Errorf("%s: got %q, want %q", k, r.header.Get(k), v)
		}
	}
	if !strings.HasPrefix(r.body, "Storage unreachable since ") || !strings.Contains(r.body, sample.Detail) {
		t.Errorf("body %q", r.body)
	}
	resolved := sample
	resolved.State = alerts.StateResolved
	if err := (&alerts.Ntfy{URL: url}).Send(context.Background(), resolved); err != nil {
		t.Fatal(err)
	}
	r = <-got
	if r.header.Get("Title") != "cloudkeep on laptop: resolved: storage unreachable" || r.header.Get("Tags") != "white_check_mark" || r.header.Get("Authorization") != "" {
		t.Errorf("resolved: headers %v", r.header)
	}
}

func TestEmail_Send(t *testing.T) {
	srv := smtptest.New(t)
	e := &alerts.Email{Addr: srv.Addr(), From: "cloudkeep@example.org", To: []string{"me@example.org", "you@example.org"}}
	if err := e.Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	for _, to := range e.To {
		m := srv.Wait(t, to, 1)
		if m.Subject != "cloudkeep on laptop: storage unreachable" || !strings.Contains(m.Body, sample.Detail) {
			t.Errorf("%s: got %+v", to, m)
		}
	}
}

// A mail server that accepts and never greets does not hold the sender
// past the end of its context.
func TestEmail_SendHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	e := &alerts.Email{Addr: l.Addr().String(), From: "cloudkeep@example.org", To: []string{"me@example.org"}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	begin := time.Now()
	err = e.Send(ctx, sample)
	if took := time.Since(begin); err == nil || took > 2*time.Second {
		t.Errorf("Send returned %v after %s, want an error within 2s of the cancel", err, took)
	}
}

// The desktop sender calls org.freedesktop.Notifications.Notify on a
// private session bus, served here by a stand-in notification daemon.
func TestDesktop_Send(t *testing.T) {
	addr := dbustest.Start(t)
	srv, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	n := &notifications{got: make(chan []any, 4)}
	if err := srv.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := srv.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request name: %v %v", reply, err)
	}
	d := &alerts.Desktop{Address: addr}
	if err := d.Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	got := <-n.got
	if got[0] != "cloudkeep" || got[1] != uint32(0) || got[3] != "cloudkeep on laptop: storage unreachable" {
		t.Errorf("open: got %v", got)
	}
	resolved := sample
	resolved.State = alerts.StateResolved
	if err := d.Send(context.Background(), resolved); err != nil {
		t.Fatal(err)
	}
	got = <-n.got
	if got[1] != uint32(7) || got[3] != "cloudkeep on laptop: resolved: storage unreachable" {
		t.Errorf("resolved: got %v, want it to replace notification 7", got)
	}
}

type notifications struct{ got chan []any }

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.got <- []any{app, replaces, icon, summary, body}
	return 7, nil
}
