package account

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxPeakRSS is what the account service may use, at its peak, however
// many sign-ins arrive at once.
const maxPeakRSS = 200 << 20

// The real account-server binary, under 60 parallel sign-ins from 60
// client addresses, stays under maxPeakRSS and answers what it cannot
// check at once with 503 and Retry-After.
func TestAccountServer_SigninBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	state := filepath.Join(dir, "accounts")
	addAccount(t, state, Account{ID: "1000000001", Email: "rss@example.com", Region: "DE", PasswordHash: hashPassword("goodpass1")})
	url, pid := startAccountServer(t, bin, dir, state)
	before := vmHWM(t, pid)
	var mu sync.Mutex
	statuses := map[int]int{}
	retryAfter := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 60 {
		wg.Go(func() {
			<-start
			user := fmt.Sprintf("nobody%d@example.com", i)
			if i%10 == 0 {
				user = "rss@example.com"
			}
			status, retry := postSignin(t, url, fmt.Sprintf("10.9.%d.%d", i/200, i%200+1), user)
			mu.Lock()
			statuses[status]++
			if status == 503 {
				retryAfter[retry]++
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	peak := vmHWM(t, pid)
	t.Logf("peak RSS %d MiB (%d MiB before the burst); answers by status %v; Retry-After of the 503s %v",
		peak>>20, before>>20, statuses, retryAfter)
	if peak >= maxPeakRSS {
		t.Errorf("peak RSS %d MiB, want under %d MiB", peak>>20, maxPeakRSS>>20)
	}
	if statuses[503] == 0 || retryAfter["1"] != statuses[503] {
		t.Errorf("503 answers %d with Retry-After %v, want some, each with Retry-After: 1", statuses[503], retryAfter)
	}
	if statuses[200]+statuses[401]+statuses[403]+statuses[503] != 60 {
		t.Errorf("answers %v, want only 200, 401, 403 (the captcha) and 503", statuses)
	}
}

func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "cloudkeep")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/cloudkeep/cloudkeep").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func addAccount(t *testing.T, state string, a Account) {
	t.Helper()
	store, err := OpenSQLite(context.Background(), filepath.Join(state, "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

// startAccountServer starts bin's account service in development mode,
// behind a trusted local proxy, and waits until it answers.
func startAccountServer(t *testing.T, bin, dir, state string) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: %s\nstate_dir: %s\ntrusted_proxies: [127.0.0.1/32]\n", addr, state)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "account-server", "--config", cfg, "--dev")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := httpGet(url + "/.well-known/openid-configuration"); err == nil && resp.StatusCode == 200 {
			return url, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account service did not answer:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postSignin signs in as user from the client address ip and returns the
// status and the Retry-After header.
func postSignin(t *testing.T, url, ip, user string) (int, string) {
	body := fmt.Sprintf(`{"username":%q,"password":"goodpass1"}`, user)
	req, _ := http.NewRequest("POST", url+"/api/v1/signin", strings.NewReader(body))
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// vmHWM is the peak resident set size of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
