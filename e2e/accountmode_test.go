package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/minioadmin"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// stack is the account service (the built binary, in --dev mode) and a
// MinIO that takes it as its OpenID provider, with the per-user policy.
type stack struct {
	t      *testing.T
	url    string
	outbox string
	srv    *miniotest.Server
	logs   *syncBuffer
}

func startStack(t *testing.T, accessTTL string) *stack {
	t.Helper()
	dir := t.TempDir()
	port := miniotest.FreePort(t)
	s := &stack{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), outbox: filepath.Join(dir, "state", "outbox.log"), logs: &syncBuffer{}}
	cfg := filepath.Join(dir, "account.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\ntokens:\n  access_ttl: %s\n",
		port, filepath.Join(dir, "state"), accessTTL)), 0o600)
	cmd := execCommand(testbin.Cloudkeep(t), "account-server", "--config", cfg, "--dev", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("account service did not start:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.srv = miniotest.Start(t, miniotest.Options{Env: []string{
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + s.url + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=cloudkeep-agent",
		"MINIO_IDENTITY_OPENID_CLAIM_NAME=policy",
	}})
	admin := &minioadmin.Client{Endpoint: "http://" + s.srv.Endpoint, AccessKey: s.srv.AccessKey, SecretKey: s.srv.SecretKey}
	if err := admin.AddPolicy(context.Background(), "cloudkeep-user", minioadmin.UserPolicy(s.srv.Bucket)); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) post(path string, body any) map[string]any {
	s.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

var outboxCode = regexp.MustCompile(`is (\d{6})\.`)

// lastCode reads the last code the outbox holds for an address.
func (s *stack) lastCode(address string) string {
	s.t.Helper()
	b, _ := os.ReadFile(s.outbox)
	code := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "to="+address+" ") {
			if m := outboxCode.FindStringSubmatch(line); m != nil {
				code = m[1]
			}
		}
	}
	if code == "" {
		s.t.Fatalf("no code for %s in the outbox", address)
	}
	return code
}

// signup makes an account through the API and returns its ID.
func (s *stack) signup(email, password string) string {
	r := s.post("/api/v1/signup", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"})
	id := r["signup_id"].(string)
	s.post("/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": s.lastCode(email)})
	r = s.post("/api/v1/signup/password", map[string]string{"signup_id": id, "password": password, "confirm": password})
	return r["account_id"].(string)
}

// login runs `cloudkeep login --password`, answering its prompts on stdin.
func (w *world) login(s *stack, user, password, email string) {
	w.t.Helper()
	cmd := w.command("login", "--password")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	fmt.Fprintf(stdin, "%s\n%s\n", user, password)
	out := bufio.NewReader(stdout)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "Code sent to") || !strings.HasSuffix(seen.String(), ": ") {
		b, err := out.ReadByte()
		if err != nil {
			cmd.Wait()
			w.t.Fatalf("login ended before asking for the code: %q %s", seen.String(), stderr.String())
		}
		seen.WriteByte(b)
	}
	fmt.Fprintf(stdin, "%s\n", s.lastCode(email))
	rest, _ := bufio.NewReader(out).ReadString(0)
	if err := cmd.Wait(); err != nil {
		w.t.Fatalf("login: %v\n%s%s\n%s", err, seen.String(), rest, stderr.String())
	}
	if !strings.Contains(rest, "signed in as ") {
		w.t.Fatalf("login said %q", rest)
	}
}

// Two people, two devices: each backs up under its own account ID only.
func TestAccountMode_BackupPerAccount(t *testing.T) {
	s := startStack(t, "15m")
	alice := s.signup("alice@example.com", "alice-pass-1")
	bob := s.signup("bob@example.com", "bob-pass-22")
	jpg := jpegHeader(t)
	for _, p := range []struct {
		id, email, password string
	}{{alice, "alice@example.com", "alice-pass-1"}, {bob, "bob@example.com", "bob-pass-22"}} {
		w := newWorldOn(t, s.srv, s.url)
		w.login(s, p.email, p.password, p.email)
		creds := filepath.Join(w.state, "credentials.json")
		if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v %v", err, fi)
		}
		w.file("IMG_"+p.id+".jpg", jpg, 200<<10, 1)
		w.file("VID.mp4", mp4Header, 7*MiB, 2)
		res := w.run("backup", "--log-level", "debug", "--log-format", "json")
		if res.code != 0 {
			t.Fatalf("backup for %s: %d\n%s\n%s", p.email, res.code, res.stdout, res.stderr)
		}
		b, _ := os.ReadFile(creds)
		var c map[string]any
		json.Unmarshal(b, &c)
		for _, secret := range []string{c["access_token"].(string), c["refresh_token"].(string), p.password} {
			if strings.Contains(res.stderr, secret) || strings.Contains(res.stdout, secret) {
				t.Errorf("the backup log holds a token or password")
			}
		}
		who := w.run("whoami")
		if who.code != 0 || !strings.Contains(who.stdout, "account: "+p.id) || !strings.Contains(who.stdout, "device:  laptop") {
			t.Errorf("whoami: %d %q %q", who.code, who.stdout, who.stderr)
		}
	}
	var keys []string
	for o := range s.srv.Client.ListObjects(context.Background(), s.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	want := []string{alice + "/laptop/pictures/IMG_" + alice + ".jpg", alice + "/laptop/pictures/VID.mp4",
		bob + "/laptop/pictures/IMG_" + bob + ".jpg", bob + "/laptop/pictures/VID.mp4"}
	if strings.Join(keys, " ") != strings.Join(sorted(want), " ") {
		t.Errorf("bucket: %v, want %v", keys, sorted(want))
	}
	if strings.Contains(s.logs.String(), "alice-pass-1") {
		t.Error("the account service logged a password")
	}
}

// Access tokens of 10 s end the STS credentials with them; a 200 MiB
// upload at 8 MiB/s outlives several of them and completes without
// sending any part twice.
func TestAccountMode_CredentialsExpireDuringUpload(t *testing.T) {
	s := startStack(t, "10s")
	id := s.signup("carol@example.com", "carol-pass-3")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("  bandwidth_limit: 8MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	w.login(s, id, "carol-pass-3", "carol@example.com")
	const size = 200 * MiB
	sum := w.file("long.mp4", mp4Header, size, 9)
	res := w.run("backup", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("backup: %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	key := id + "/laptop/pictures/long.mp4"
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object: %s, want %s", got, sum)
	}
	if sent := w.proxy.Sent(); sent > size+2<<20 {
		t.Errorf("sent %d bytes for %d: a part was sent again", sent, size)
	}
	if n := strings.Count(res.stderr, `"message":"retrying"`); n > 0 {
		t.Errorf("%d retries:\n%s", n, res.stderr)
	}
}

// A device disconnected on the account service stops uploading and says
// it is signed out; after a new login the waiting files are uploaded.
func TestAccountMode_DisconnectedDevice(t *testing.T) {
	s := startStack(t, "10s")
	id := s.signup("dave@example.com", "dave-pass-44")
	w := newWorldOn(t, s.srv, s.url)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	w.login(s, id, "dave-pass-44", "dave@example.com")
	r := w.startAgent()
	jpg := jpegHeader(t)
	w.file("first.jpg", jpg, 1000, 1)
	w.eventually(20*time.Second, "first.jpg is stored", func() bool { return len(w.sizes()) == 1 })

	b, _ := os.ReadFile(filepath.Join(w.state, "credentials.json"))
	var c map[string]any
	json.Unmarshal(b, &c)
	s.post("/api/v1/revoke", map[string]string{"token": c["refresh_token"].(string)})
	// The storage credentials in hand end with the access token (10 s here,
	// 15 minutes by default); after that nothing more is uploaded.
	time.Sleep(11 * time.Second)
	w.file("second.jpg", jpg, 1000, 2)
	w.eventually(30*time.Second, "the agent says it is signed out", func() bool {
		st, ok := r.status()
		return ok && st.State == "signed out"
	})
	time.Sleep(time.Second)
	if n := len(w.sizes()); n != 1 {
		t.Fatalf("a signed-out agent uploaded: %d objects", n)
	}
	out := w.run("status")
	if !strings.Contains(out.stdout, "signed out — run `cloudkeep login`") {
		t.Errorf("status: %q", out.stdout)
	}
	if n := strings.Count(r.logs.String(), "signed out: uploads stop"); n != 1 {
		t.Errorf("the sign-out was logged %d times, want once", n)
	}
	w.login(s, id, "dave-pass-44", "dave@example.com")
	w.eventually(30*time.Second, "second.jpg is stored after the login", func() bool { return len(w.sizes()) == 2 })
	r.stop()
}

func TestAccountMode_RefusesReadableCredentials(t *testing.T) {
	s := startStack(t, "15m")
	id := s.signup("erin@example.com", "erin-pass-5")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, id, "erin-pass-5", "erin@example.com")
	creds := filepath.Join(w.state, "credentials.json")
	os.Chmod(creds, 0o644)
	res := w.run("run")
	if res.code == 0 || !strings.Contains(res.stderr, "can be read by others (mode 0644)") {
		t.Errorf("run with a world-readable credentials file: %d %q", res.code, res.stderr)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// approve signs in on the web pages like a browser (cookies, CSRF tokens,
// the emailed code) and approves the device showing userCode.
func (s *stack) approve(userCode, user, password, email string) {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	form := func(path string, v url.Values) string {
		resp, err := c.Get(s.url + "/signin")
		if err != nil {
			s.t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfField.FindSubmatch(page)
		if m == nil {
			s.t.Fatalf("no CSRF field on the sign-in page")
		}
		v.Set("csrf", html.UnescapeString(string(m[1])))
		resp, err = c.PostForm(s.url+path, v)
		if err != nil {
			s.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			s.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := form("/signin", url.Values{"username": {user}, "password": {password}, "next": {"/account"}})
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no challenge on the code page:\n%s", page)
	}
	form("/signin/verify", url.Values{"id": {html.UnescapeString(m[1])}, "code": {s.lastCode(email)}, "next": {"/account"}})
	page = form("/device", url.Values{"user_code": {userCode}, "answer": {"approve"}})
	if !strings.Contains(page, "Device connected") {
		s.t.Fatalf("approval page:\n%s", page)
	}
}

// The default login: the device flow, approved in the web pages.
func TestAccountMode_DeviceFlowLogin(t *testing.T) {
	s := startStack(t, "15m")
	id := s.signup("fay@example.com", "fay-pass-66")
	w := newWorldOn(t, s.srv, s.url)
	cmd := w.command("login")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	var seen strings.Builder
	codeRE := regexp.MustCompile(`enter the code\s+([A-Z]{4}-[A-Z]{4})`)
	for codeRE.FindStringSubmatch(seen.String()) == nil {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("login output: %q", seen.String())
		}
		seen.WriteString(line)
	}
	if !strings.Contains(seen.String(), s.url+"/device") {
		t.Errorf("login did not show the address: %q", seen.String())
	}
	s.approve(codeRE.FindStringSubmatch(seen.String())[1], id, "fay-pass-66", "fay@example.com")
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v %s", err, rest)
	}
	if want := "signed in as " + id + " on laptop\n"; !strings.HasSuffix(string(rest), want) {
		t.Errorf("login said %q, want %q", rest, want)
	}
	if res := w.run("logout"); res.code != 0 || !strings.Contains(res.stdout, "signed out: laptop is no longer connected to "+id) {
		t.Errorf("logout: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.state, "credentials.json")); !os.IsNotExist(err) {
		t.Errorf("credentials left after logout: %v", err)
	}
}
