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

// devServer is an account service run by mainWith in --dev mode.
type devServer struct {
	addr   string
	stop   context.CancelFunc
	exited chan int
	stderr *syncBuffer
}

// startDevServer writes config (listen: is added) to dir/account.yaml and
// runs account-server --dev on it; the config's own keys follow listen.
func startDevServer(t *testing.T, dir, config string, args ...string) *devServer {
	t.Helper()
	s := &devServer{addr: closedAddr(t), exited: make(chan int, 1), stderr: &syncBuffer{}}
	cfg := filepath.Join(dir, "account.yaml")
	if err := os.WriteFile(cfg, []byte("listen: "+s.addr+"\n"+config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	t.Cleanup(stop)
	var stdout syncBuffer
	go func() {
		s.exited <- mainWith(ctx, append([]string{"account-server", "--config", cfg, "--dev"}, args...), &stdout, s.stderr)
	}()
	return s
}

// waitHealthy waits until the service answers /healthz.
func (s *devServer) waitHealthy(t *testing.T) {
	t.Helper()
	waitFor(t, "the service to answer", func() bool {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

// A request still in flight when the account service is told to stop is
// answered with the store still open: shutdown closes the store only after
// the server has finished its requests.
func TestServeAccounts_ShutdownFinishesRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	srv := startDevServer(t, dir, "state_dir: "+filepath.Join(dir, "state")+"\nclient_id: cloudkeep-agent\n", "--log-format", "json")
	addr, stop, exited, stderr := srv.addr, srv.stop, srv.exited, srv.stderr
	srv.waitHealthy(t)

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
	srv := startDevServer(t, dir, "state_dir: "+filepath.Join(dir, "state")+"\n")
	addr, stop, exited, stderr := srv.addr, srv.stop, srv.exited, srv.stderr
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
	state := filepath.Join(dir, "state")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startDevServer(t, dir, fmt.Sprintf("state_dir: %s\nstore: sqlite:%s\nsecret_key_file: %s\n", state, filepath.Join(dir, "accounts.db"), secret))
	srv.waitHealthy(t)
	fi, err := os.Stat(state)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("state_dir after start: %v %v, want a directory of mode 0700", fi, err)
	}
	srv.stop()
	if code := <-srv.exited; code != 0 {
		t.Errorf("exit %d, stderr:\n%s", code, srv.stderr.String())
	}
}
