package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

type syncBuffer = testbin.Buffer

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A request still in flight when the account service is told to stop is
// answered with the store still open: shutdown closes the store only after
// the server has finished its requests.
func TestServeAccounts_ShutdownFinishesRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	addr := closedAddr(t)
	cfg := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: %s\nstate_dir: %s\nclient_id: cloudkeep-agent\n", addr, filepath.Join(dir, "state"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- mainWith(ctx, []string{"account-server", "--config", cfg, "--dev", "--log-format", "json"}, &stdout, &stderr)
	}()
	waitFor(t, "the service to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	// A device asks for authorization; its body is still on the way when
	// the service is stopped. The server's "100 Continue" says the handler
	// is running, waiting for the body.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := `{"client_id":"cloudkeep-agent","device_name":"laptop"}`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		wire.PathDeviceAuthorize, addr, len(body))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("interim answer: got %v, %v; want 100 Continue", resp, err)
	}
	stop()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	io.WriteString(conn, body)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request in flight during shutdown: got %v, want an answer", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("request in flight during shutdown: got %s %s, want 200 OK", resp.Status, answer)
	}
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("account-server: got exit %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("account-server did not return after shutdown")
	}
	if logs := stderr.String(); strings.Contains(logs, "database is closed") {
		t.Errorf("logs: got %q, want no \"database is closed\"", logs)
	}
}

// Under systemd (Type=notify) the account service reports READY once it
// answers, and STOPPING when it is told to stop.
func TestServeAccounts_NotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	t.Setenv("NOTIFY_SOCKET", sock.LocalAddr().String())
	addr := closedAddr(t)
	cfg := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: %s\nstate_dir: %s\n", addr, filepath.Join(dir, "state"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- mainWith(ctx, []string{"account-server", "--config", cfg, "--dev"}, &stdout, &stderr)
	}()
	notified := func() string {
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 256)
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("waiting for a notification: %v\n%s", err, stderr.String())
		}
		return string(buf[:n])
	}
	if got := notified(); got != "READY=1" {
		t.Fatalf("first notification: got %q, want READY=1", got)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("after READY: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after READY: /healthz answered %s, want 200 OK", resp.Status)
	}
	stop()
	if got := notified(); got != "STOPPING=1" {
		t.Errorf("notification on stop: got %q, want STOPPING=1", got)
	}
	if code := <-exited; code != exitOK {
		t.Errorf("account-server: got exit %d, want 0\n%s", code, stderr.String())
	}
}

// With the accounts database and the secret outside state_dir, the service still makes
// state_dir (mode 0700) at start: --dev's outbox goes there, so a missing
// one failed every sign-up with 502 delivery_failed.
func TestServeAccounts_MakesStateDir(t *testing.T) {
	dir := t.TempDir()
	addr := closedAddr(t)
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "account.yaml")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("listen: %s\nstate_dir: %s\nstore: sqlite:%s\nsecret_key_file: %s\n", addr, state, filepath.Join(dir, "accounts.db"), secret)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- mainWith(ctx, []string{"account-server", "--config", cfg, "--dev", "--log-format", "json"}, &stdout, &stderr)
	}()
	waitFor(t, "the service to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	fi, err := os.Stat(state)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("state_dir after start: %v %v, want a directory of mode 0700", fi, err)
	}
	stop()
	if code := <-exited; code != 0 {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}
