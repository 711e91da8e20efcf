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
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// stack is the account service (the built binary, in --dev mode) holding
// the keys of an S3 server (MinIO or versitygw), reached through a
// byte-counting proxy: devices get grants, never keys.
type stack struct {
	t      *testing.T
	url    string
	config string
	outbox string
	srv    *miniotest.Server
	proxy  *miniotest.Proxy // the storage as the service (and its grants) address it
	logs   *syncBuffer
	cmd    *exec.Cmd // the account service

	codes func(address string) string // the last code sent to address; the outbox's unless set
}

// stackOptions tune a stack; zero values take the defaults.
type stackOptions struct {
	accessTTL string // default 15m
	grantTTL  string // default 60s
	quota     string // default none
	versitygw bool   // versitygw instead of MinIO
}

func startStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	dir := t.TempDir()
	port := miniotest.FreePort(t)
	srv := storageServer(t, o.versitygw)
	s := &stack{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), config: filepath.Join(dir, "account.yaml"),
		outbox: filepath.Join(dir, "state", "outbox.log"), srv: srv, proxy: miniotest.NewProxy(t, srv.Endpoint), logs: &syncBuffer{}}
	secret := filepath.Join(dir, "storage.secret")
	if err := os.WriteFile(secret, []byte(srv.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`listen: 127.0.0.1:%d
state_dir: %s
tokens:
  access_ttl: %s
storage:
  endpoint: %s
  bucket: %s
  access_key: %s
  secret_key_file: %s
  grant_ttl: %s
quota:
  default: %s
`, port, filepath.Join(dir, "state"), or(o.accessTTL, "15m"), s.proxy.Addr, srv.Bucket, srv.AccessKey, secret,
		or(o.grantTTL, "60s"), or(o.quota, "0"))
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	return s
}

// start starts the account service and waits until it answers.
func (s *stack) start() {
	s.t.Helper()
	s.cmd = execCommand(testbin.Cloudkeep(s.t), "account-server", "--config", s.config, "--dev", "--log-format", "json")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.waitUp(15 * time.Second)
}

// waitUp waits up to timeout until the account service answers.
func (s *stack) waitUp(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("account service %s did not start:\n%s", s.url, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// storageServer starts the suite's S3 server, or versitygw.
func storageServer(t *testing.T, versitygw bool) *miniotest.Server {
	if versitygw {
		return startVersitygw(t)
	}
	return startS3(t)
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
	if s.codes != nil {
		return s.codes(address)
	}
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

// setQuota runs `cloudkeep account-server quota` for one account.
func (s *stack) setQuota(account, size string) {
	s.t.Helper()
	out, err := execCommand(testbin.Cloudkeep(s.t), "account-server", "quota", "--config", s.config, account, size).CombinedOutput()
	if err != nil {
		s.t.Fatalf("account-server quota: %v\n%s", err, out)
	}
}

// login runs `cloudkeep login --password`, answering its prompts on stdin.
func (w *world) login(s *stack, user, password, email string) {
	w.t.Helper()
	out, err := w.tryLogin(s, user, password, email)
	if err != nil {
		w.t.Fatalf("login: %v\n%s", err, out)
	}
	if !strings.Contains(out, "signed in as ") {
		w.t.Fatalf("login said %q", out)
	}
}

// tryLogin runs `cloudkeep login --password`, answering its prompts on
// stdin, and returns all it printed.
func (w *world) tryLogin(s *stack, user, password, email string) (string, error) {
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
	err := cmd.Wait()
	return seen.String() + rest + stderr.String(), err
}

// accountKeys lists the bucket as its owner sees it.
func (s *stack) bucketKeys() []string {
	var keys []string
	for o := range s.srv.Client.ListObjects(context.Background(), s.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if !strings.Contains(o.Key, "/.cloudkeep/") { // the devices' manifests
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// Two people, two devices: each backs up under its own account ID only,
// and lists only its own files.
func TestAccountMode_BackupPerAccount(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	alice := s.signup("alice@example.com", "alice-pass-1")
	bob := s.signup("bob@example.com", "bob-pass-22")
	jpg := jpegHeader(t)
	worlds := map[string]*world{}
	for _, p := range []struct {
		id, email, password string
	}{{alice, "alice@example.com", "alice-pass-1"}, {bob, "bob@example.com", "bob-pass-22"}} {
		w := newWorldOn(t, s.srv, s.url)
		worlds[p.id] = w
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
		for _, secret := range []string{c["access_token"].(string), c["refresh_token"].(string), p.password, s.srv.SecretKey} {
			if strings.Contains(res.stderr, secret) || strings.Contains(res.stdout, secret) {
				t.Errorf("the backup log holds a token, a key or a password")
			}
		}
	}
	want := []string{alice + "/laptop/pictures/IMG_" + alice + ".jpg", alice + "/laptop/pictures/VID.mp4",
		bob + "/laptop/pictures/IMG_" + bob + ".jpg", bob + "/laptop/pictures/VID.mp4"}
	if got := s.bucketKeys(); strings.Join(got, " ") != strings.Join(sorted(want), " ") {
		t.Errorf("bucket: %v, want %v", got, sorted(want))
	}
	for id, w := range worlds {
		ls := w.run("ls")
		if wantLs := "laptop/pictures/IMG_" + id + ".jpg\nlaptop/pictures/VID.mp4\n"; ls.code != 0 || ls.stdout != wantLs {
			t.Errorf("ls of %s: %d %q, want %q (%s)", id, ls.code, ls.stdout, wantLs, ls.stderr)
		}
	}
	if strings.Contains(s.logs.String(), "alice-pass-1") {
		t.Error("the account service logged a password")
	}
}

// Access tokens of 10 s and grants of 5 s: a 200 MiB upload at 8 MiB/s
// outlives several of each and completes without sending any part twice.
func TestAccountMode_RenewalDuringUpload(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	// On both servers: an expired presigned URL is answered differently
	// (MinIO: 403 Request has expired; versitygw resets the connection).
	s := startStack(t, stackOptions{accessTTL: "10s", grantTTL: "5s"})
	id := s.signup("carol@example.com", "carol-pass-3")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("  bandwidth_limit: 8MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	w.login(s, id, "carol-pass-3", "carol@example.com")
	const size = 200 * MiB
	sum := w.file("long.mp4", mp4Header, size, 9)
	s.proxy.Reset()
	res := w.run("backup", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("backup: %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	key := id + "/laptop/pictures/long.mp4"
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object: %s, want %s", got, sum)
	}
	if sent := s.proxy.Sent(); sent > size+2<<20 {
		t.Errorf("sent %d bytes for %d: a part was sent again", sent, size)
	}
	if n := strings.Count(res.stderr, `"message":"retrying"`); n > 0 {
		t.Errorf("%d retries:\n%s", n, res.stderr)
	}
}

// Disconnecting a device on the account page stops the running agent
// within a grant's lifetime: it says it is signed out (once), new files
// wait, and `ls` is refused; after a new login they are uploaded.
func TestAccountMode_DisconnectedDevice(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	s := startStack(t, stackOptions{grantTTL: "5s"})
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
	s.disconnect(id, "dave-pass-44", "dave@example.com", c["device_id"].(string))
	w.file("second.jpg", jpg, 1000, 2)
	w.eventually(10*time.Second, "the agent says it is signed out", func() bool {
		st, ok := r.status()
		return ok && st.State == "signed out"
	})
	if n := len(w.sizes()); n != 1 {
		t.Fatalf("a disconnected agent uploaded: %d objects", n)
	}
	out := w.run("status")
	if !strings.Contains(out.stdout, "signed out — run `cloudkeep login`") {
		t.Errorf("status: %q", out.stdout)
	}
	if ls := w.run("ls"); ls.code != 1 || !strings.Contains(ls.stderr, "signed out") {
		t.Errorf("ls after disconnect: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
	if n := strings.Count(r.logs.String(), "signed out — run `cloudkeep login`"); n != 1 {
		t.Errorf("the sign-out was logged %d times, want once:\n%s", n, r.logs)
	}
	if logs := r.logs.String(); strings.Contains(logs, "upload failed") || strings.Contains(logs, `"/laptop/`) {
		t.Errorf("the disconnect counted as a failure or made a key without the account:\n%s", r.logs)
	}
	if st, _ := r.status(); st.Totals.Failed != 0 {
		t.Errorf("%d failed uploads, want none", st.Totals.Failed)
	}
	w.login(s, id, "dave-pass-44", "dave@example.com")
	w.eventually(30*time.Second, "second.jpg is stored after the login", func() bool { return len(w.sizes()) == 2 })
	r.stop()
}

// An upload that would cross the quota is refused with a clear message;
// the queue holds; raising the quota lets it go on.
func TestAccountMode_Quota(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	s := startStack(t, stackOptions{quota: "10MiB"})
	id := s.signup("gus@example.com", "gus-pass-77")
	w := newWorldOn(t, s.srv, s.url)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	w.login(s, id, "gus-pass-77", "gus@example.com")
	w.file("first.mp4", mp4Header, 6*MiB, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup within the quota: %d %s %s", res.code, res.stdout, res.stderr)
	}
	w.file("second.mp4", mp4Header, 6*MiB, 2)
	res := w.run("backup")
	if res.code != 1 || !strings.Contains(res.stdout, "failed: (every file left): storage quota reached (6 of 10 MiB)") {
		t.Errorf("backup over the quota: %d %q %q", res.code, res.stdout, res.stderr)
	}
	r := w.startAgent()
	w.eventually(20*time.Second, "status tells the quota is reached", func() bool {
		return strings.Contains(w.run("status").stdout, "storage quota reached (6 of 10 MiB)")
	})
	if st, _ := r.status(); st.Queue.Files != 1 || st.Totals.Failed != 0 {
		t.Errorf("queue %d file(s), %d failed; want the file held, not failed", st.Queue.Files, st.Totals.Failed)
	}
	s.setQuota(id, "20MiB")
	w.eventually(90*time.Second, "second.mp4 is stored once the quota is raised", func() bool { return len(w.sizes()) == 2 })
	// (The quota alert stays open for a minute more: a cause must be gone
	// that long before it is resolved.)
	w.eventually(5*time.Second, "status no longer holds uploads for the quota", func() bool {
		return !strings.Contains(w.run("status").stdout, "uploads wait until space frees")
	})
	r.stop()
}

// The whole journey on versitygw: sign up, log in, run, ls, restore.
func TestAccountMode_JourneyOnVersitygw(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{versitygw: true})
	id := s.signup("hana@example.com", "hana-pass-88")
	w := newWorldOn(t, s.srv, s.url)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	w.login(s, "hana@example.com", "hana-pass-88", "hana@example.com")
	r := w.startAgent()
	sums := map[string]string{
		"laptop/pictures/IMG_1.jpg":     w.file("IMG_1.jpg", jpegHeader(t), 300<<10, 1),
		"laptop/pictures/2024/clip.mp4": w.file("2024/clip.mp4", mp4Header, 12*MiB, 2),
	}
	w.eventually(60*time.Second, "both files are stored", func() bool { return len(w.sizes()) == 2 })
	r.stop()
	for rel := range sums {
		if _, ok := w.sizes()[id+"/"+rel]; !ok {
			t.Errorf("%s is not under the account's prefix: %v", rel, w.sizes())
		}
	}
	ls := w.run("ls")
	if want := "laptop/pictures/2024/clip.mp4\nlaptop/pictures/IMG_1.jpg\n"; ls.code != 0 || ls.stdout != want {
		t.Errorf("ls: %d %q, want %q (%s)", ls.code, ls.stdout, want, ls.stderr)
	}
	dest := filepath.Join(w.dir, "restored")
	if res := w.run("restore", dest); res.code != 0 || !strings.Contains(res.stdout, "restored 2 file(s)") {
		t.Fatalf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range sums {
		if got := w.fileSHA256(filepath.Join(dest, rel)); got != sum {
			t.Errorf("restored %s: sha256 %s, want %s", rel, got, sum)
		}
	}
}

// A credentials file others can read: every command refuses it and says
// to log out, and `cloudkeep logout` still revokes the tokens that may
// have leaked (the account service refuses them afterwards) and deletes
// the file.
func TestAccountMode_RefusesReadableCredentials(t *testing.T) {
	s := startStack(t, stackOptions{})
	id := s.signup("erin@example.com", "erin-pass-5")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, id, "erin-pass-5", "erin@example.com")
	creds := filepath.Join(w.state, "credentials.json")
	b, _ := os.ReadFile(creds)
	var c map[string]any
	json.Unmarshal(b, &c)
	os.Chmod(creds, 0o644)
	want := "credentials file " + creds + " can be read by others (mode 0644): its tokens may have leaked: run `cloudkeep logout` (it revokes them), then `cloudkeep login`"
	for _, args := range [][]string{{"run"}, {"backup"}, {"ls"}} {
		if res := w.run(args...); res.code == 0 || !strings.Contains(res.stderr, want) {
			t.Errorf("%v with a world-readable credentials file: %d %q, want %q", args, res.code, res.stderr, want)
		}
	}
	res := w.run("logout")
	if wantOut := "signed out: laptop is no longer connected to " + id + "\n"; res.code != 0 || res.stdout != wantOut {
		t.Errorf("logout with a world-readable credentials file: %d %q %q, want %q", res.code, res.stdout, res.stderr, wantOut)
	}
	if _, err := os.Stat(creds); !os.IsNotExist(err) {
		t.Errorf("credentials file after logout: %v, want it gone", err)
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "client_id": "cloudkeep-agent", "refresh_token": c["refresh_token"].(string)})
	resp, err := http.Post(s.url+"/api/v1/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("the exposed refresh token still works after logout")
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

// browser is a signed-in web session on the account pages.
type browser struct {
	s *stack
	c *http.Client
}

// signIn signs in on the web pages like a browser (cookies, CSRF tokens,
// the emailed code).
func (s *stack) signIn(user, password, email string) *browser {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{s: s, c: &http.Client{Jar: jar}}
	page := b.form("/signin", url.Values{"username": {user}, "password": {password}, "next": {"/account"}})
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no challenge on the code page:\n%s", page)
	}
	b.form("/signin/verify", url.Values{"id": {html.UnescapeString(m[1])}, "code": {s.lastCode(email)}, "next": {"/account"}})
	return b
}

// form posts v to path with a fresh CSRF token and returns the page.
func (b *browser) form(path string, v url.Values) string {
	b.s.t.Helper()
	resp, err := b.c.Get(b.s.url + "/signin")
	if err != nil {
		b.s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		b.s.t.Fatalf("no CSRF field on the sign-in page")
	}
	v.Set("csrf", html.UnescapeString(string(m[1])))
	resp, err = b.c.PostForm(b.s.url+path, v)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.s.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

// approve approves the device showing userCode.
func (s *stack) approve(userCode, user, password, email string) {
	s.t.Helper()
	page := s.signIn(user, password, email).form("/device", url.Values{"user_code": {userCode}, "answer": {"approve"}})
	if !strings.Contains(page, "Device connected") {
		s.t.Fatalf("approval page:\n%s", page)
	}
}

// disconnect presses "Disconnect" for a device on the account page.
func (s *stack) disconnect(user, password, email, deviceID string) {
	s.t.Helper()
	page := s.signIn(user, password, email).form("/account/devices/disconnect", url.Values{"device_id": {deviceID}})
	if !strings.Contains(page, "Device disconnected") {
		s.t.Fatalf("disconnect page:\n%s", page)
	}
}

// The default login: the device flow, approved in the web pages.
func TestAccountMode_DeviceFlowLogin(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
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

// faultRun is a big upload in account mode, a third sent when a fault
// strikes.
type faultRun struct {
	s    *stack
	w    *world
	r    *running
	key  string // the object's key
	sum  string // the file's SHA-256
	size int64
}

// startFaultRun signs up, starts the agent with two 5 MiB parts in flight
// at 8 MiB/s, writes a file of size bytes and waits until a third of it
// is sent.
func startFaultRun(t *testing.T, email, password string, size int64, seed uint64) *faultRun {
	s := startStack(t, stackOptions{grantTTL: "5s"})
	id := s.signup(email, password)
	w := newWorldOn(t, s.srv, s.url)
	w.top = "settle: 200ms\n"
	w.writeConfig("  bandwidth_limit: 8MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	w.login(s, id, password, email)
	r := w.startAgent()
	s.proxy.Reset()
	sum := w.file("long.mp4", mp4Header, size, seed)
	w.eventually(30*time.Second, "a third of long.mp4 is sent", func() bool {
		st, ok := r.status()
		return ok && len(st.Uploads) == 1 && st.Uploads[0].Percent > 33
	})
	return &faultRun{s: s, w: w, r: r, key: id + "/laptop/pictures/long.mp4", sum: sum, size: size}
}

// finish waits until the object is stored and checks its bytes, that no
// more than the parts in flight were sent again, that nothing failed and
// that no upload is left incomplete.
func (f *faultRun) finish(t *testing.T, limit time.Duration) {
	f.w.eventually(limit, "long.mp4 is stored", func() bool { return f.w.sizes()[f.key] == f.size })
	if got := f.w.contentSHA256(f.key); got != f.sum {
		t.Errorf("object: sha256 %s, want %s", got, f.sum)
	}
	if sent := f.s.proxy.Sent(); sent > f.size+2*5*MiB+1<<20 {
		t.Errorf("sent %d bytes for %d: more than the 2 parts in flight again", sent, f.size)
	}
	if st, _ := f.r.status(); st.Totals.Failed != 0 || st.Totals.Uploaded != 1 {
		t.Errorf("totals %+v, want 1 uploaded, 0 failed (%v)", st.Totals, st.Errors)
	}
	f.r.stop()
	f.w.assertNoIncomplete()
}

// The storage killed (SIGKILL) in the middle of a big upload and started
// again on the same data: the upload goes on where it stopped, no finished
// part is sent again, nothing counts as failed, and no log line holds a
// presigned URL's signature (a grant others could replay).
func TestAccountMode_StorageKilledMidUpload(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	f := startFaultRun(t, "ivy@example.com", "ivy-pass-99", 40*MiB, 5)
	f.s.srv.Kill()
	f.w.eventually(30*time.Second, "the agent has met the dead storage", func() bool {
		return strings.Contains(f.r.logs.String(), `"message":"retrying"`)
	})
	f.s.srv.Restart(t)
	f.finish(t, 120*time.Second)
	if logs := f.r.logs.String(); strings.Contains(logs, "X-Amz-Signature") || strings.Contains(logs, "X-Amz-Credential") {
		t.Errorf("a log line holds a presigned URL:\n%s", logs)
	}
}

// The account service stops answering (hung, or a network that swallows
// its packets) for longer than a grant call may take, in the middle of a
// big upload: the grant calls time out and are tried again, and once it
// answers the upload goes on. The file is never dropped as if the agent
// were stopping.
func TestAccountMode_AccountServiceHangsMidUpload(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	f := startFaultRun(t, "jay@example.com", "jay-pass-10", 30*MiB, 6)
	f.s.cmd.Process.Signal(syscall.SIGSTOP)
	f.w.eventually(60*time.Second, "a grant call timed out", func() bool {
		st, ok := f.r.status()
		return strings.Contains(f.r.logs.String(), "no answer within 30s") || ok && len(st.Uploads) == 0
	})
	f.s.cmd.Process.Signal(syscall.SIGCONT)
	f.finish(t, 90*time.Second)
}

// One connected device per name in an account: a second machine named
// like the first is refused with what to do (else both would write the same
// keys), while logging in again on the same machine replaces its sign-in.
func TestAccountMode_DeviceNamesAreUnique(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	s.signup("ines@example.com", "ines-pass-42")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "ines@example.com", "ines-pass-42", "ines@example.com")
	var creds struct {
		RefreshToken string `json:"refresh_token"`
	}
	b, err := os.ReadFile(filepath.Join(w.state, "credentials.json"))
	if err != nil || json.Unmarshal(b, &creds) != nil || creds.RefreshToken == "" {
		t.Fatalf("credentials: %v %s", err, b)
	}

	out, err := w.tryLogin(s, "ines@example.com", "ines-pass-42", "ines@example.com")
	if err != nil || !strings.Contains(out, "replacing the previous sign-in of laptop") || !strings.Contains(out, "signed in as ") {
		t.Fatalf("login again on the same machine: %v\n%s", err, out)
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "client_id": "cloudkeep-agent", "refresh_token": creds.RefreshToken})
	resp, err := http.Post(s.url+"/api/v1/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("the replaced sign-in's refresh token: %d, want 400 invalid_grant", resp.StatusCode)
	}

	other := newWorldOn(t, s.srv, s.url) // another machine, also named laptop
	out, err = other.tryLogin(s, "ines@example.com", "ines-pass-42", "ines@example.com")
	want := `A device named "laptop" is already connected to this account`
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("a second machine named laptop: %v\n%s\nwant an error saying %q", err, out, want)
	}
}
