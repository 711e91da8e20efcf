package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/smtptest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// Two account-server replicas on one PostgreSQL database and one S3
// server, sharing only the database and secret_key_file, behind a
// round-robin load balancer. The whole journey alternates replicas at
// every step, then one replica is killed (SIGKILL) in the middle of an
// agent's backup through the load balancer: the other carries on, every
// file is stored, and the usage in the store counts each once.
func TestAccountServer_TwoReplicas(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	start := time.Now()
	r := startReplicas(t)
	a, b := r.replica[0], r.replica[1]
	t.Logf("two replicas up in %s", time.Since(start).Round(time.Millisecond))
	const email, password = "nora@example.com", "nora-pass-57"

	// Sign-up: the PIN sent by B is verified on A, the password set on A.
	step := time.Now()
	su := b.post(wire.PathSignup, map[string]string{"email": email, "region": "DE", "birth_date": "1988-02-03"})
	a.post(wire.PathSignupVerify, map[string]string{"signup_id": su["signup_id"].(string), "pin": r.mail.lastCode(t, email)})
	id := a.post(wire.PathSignupPassword, map[string]string{"signup_id": su["signup_id"].(string), "password": password, "confirm": password})["account_id"].(string)

	// Wrong passwords for another person on A, B, A: the fourth sign-in,
	// on B, needs the captcha (the throttle is shared); the captcha made
	// by A is answered on B, and spent there for both. (From another
	// client address, behind the trusted load balancer, so that this
	// client's captcha is not the others'.)
	const otto, ottoPassword = "otto@example.com", "otto-pass-68"
	ottoID := a.signup(otto, ottoPassword)
	client := map[string]string{"X-Forwarded-For": "198.51.100.7"}
	for i, s := range []*stack{a, b, a} {
		if code, out := send(t, s.url, wire.PathSignin, client, map[string]string{"username": otto, "password": "wrong-" + ottoPassword}); code != 401 && code != 400 {
			t.Fatalf("wrong password %d: %d %v", i+1, code, out)
		}
	}
	if code, out := send(t, b.url, wire.PathSignin, client, map[string]string{"username": otto, "password": ottoPassword}); code != 403 || out["error"] != wire.ErrCodeCaptchaRequired {
		t.Fatalf("fourth sign-in on B: %d %v, want 403 %s", code, out, wire.ErrCodeCaptchaRequired)
	}
	captchaID, answer := r.captcha(a)
	signin := map[string]string{"username": otto, "password": ottoPassword, "captcha_id": captchaID, "captcha": answer}
	code, ch := send(t, b.url, wire.PathSignin, client, signin)
	if code != 200 {
		t.Fatalf("sign-in on B with A's captcha: %d %v", code, ch)
	}
	if code, out := send(t, a.url, wire.PathSignin, client, signin); code != 403 || out["error"] != wire.ErrCodeCaptchaRequired {
		t.Errorf("the captcha answered on B, again on A: %d %v, want it spent (403 %s)", code, out, wire.ErrCodeCaptchaRequired)
	}
	verify := map[string]string{"challenge_id": ch["challenge_id"].(string), "code": r.mail.lastCode(t, otto), "client_id": "cloudkeep-agent", "device_name": "phone"}
	if code, phone := send(t, a.url, wire.PathSigninVerify, client, verify); code != 200 || phone["account_id"] != ottoID {
		t.Fatalf("sign-in verified on A: %d %v, want account %s", code, phone, ottoID)
	}

	// The device flow started on A, approved in the web pages of B, its
	// tokens collected on A and refreshed on B; each replica accepts the
	// other's access tokens.
	auth := a.post(wire.PathDeviceAuthorize, map[string]string{"client_id": "cloudkeep-agent", "device_name": "tablet"})
	b.approve(auth["user_code"].(string), email, password, email)
	minted := a.post(wire.PathToken, map[string]string{"grant_type": wire.GrantDeviceCode, "client_id": "cloudkeep-agent", "device_code": auth["device_code"].(string)})
	refreshed := b.post(wire.PathToken, map[string]string{"grant_type": wire.GrantRefresh, "client_id": "cloudkeep-agent", "refresh_token": minted["refresh_token"].(string)})
	for _, c := range []struct {
		on    *stack
		token any
	}{{b, minted["access_token"]}, {a, refreshed["access_token"]}} {
		if code, me := bearer(t, c.on.url, wire.PathMe, c.token.(string), nil); code != 200 || me["device"] != "tablet" || me["account_id"] != id {
			t.Errorf("%s with the other replica's access token: %d %v, want tablet of %s", wire.PathMe, code, me, id)
		}
	}
	t.Logf("sign-up, captcha, sign-in, device flow and refresh across replicas: %s", time.Since(step).Round(time.Millisecond))

	// The agent through the load balancer: its grants come from both.
	step = time.Now()
	w := newWorldOn(t, r.srv, r.lb.url)
	w.login(r.lb, email, password, email)
	want := map[string]string{}
	for i := range 6 {
		rel := fmt.Sprintf("2026/IMG_%d.jpg", i)
		want[id+"/laptop/pictures/"+rel] = w.file(rel, jpegHeader(t), int64(200<<10+i*1000), uint64(i+1))
	}
	want[id+"/laptop/pictures/VID.mp4"] = w.file("VID.mp4", mp4Header, 12*MiB, 9)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup through the load balancer: %d %s %s", res.code, res.stdout, res.stderr)
	}
	grants := r.bal.grantsByReplica()
	if grants[0] == 0 || grants[1] == 0 {
		t.Errorf("grant calls per replica %v: want both to have answered", grants)
	}
	r.assertStored(w, id, want)
	t.Logf("backup of %d files through the load balancer: %s (grant calls per replica %v)", len(want), time.Since(step).Round(time.Millisecond), grants)

	// Disconnected on A: B refuses the device's next grant at once, and the
	// agent pointed at B says so.
	creds := readCredentials(t, w)
	a.disconnect(email, password, email, creds["device_id"])
	body := map[string]any{"ops": []map[string]string{{"op": wire.OpList, "prefix": id + "/laptop/"}}}
	code, out := bearer(t, b.url, wire.PathStorageGrant, creds["access_token"], body)
	if code != 401 || out["error"] != wire.ErrCodeInvalidToken || out["message"] != "This device was disconnected." {
		t.Errorf("a grant on B right after the disconnect on A: %d %v, want 401 %s %q", code, out, wire.ErrCodeInvalidToken, "This device was disconnected.")
	}
	w.account = b.url
	w.writeConfig("")
	if ls, want := w.run("ls"), "cloudkeep: signed out: run `cloudkeep login`\n"; ls.code != 1 || ls.stderr != want {
		t.Errorf("ls through B after the disconnect on A: exit %d %q %q, want exit 1 and %q", ls.code, ls.stdout, ls.stderr, want)
	}

	// A replica killed in the middle of a backup through the load balancer:
	// the other carries on.
	step = time.Now()
	w.account = r.lb.url
	w.top = "settle: 200ms\n"
	w.writeConfig("  bandwidth_limit: 4MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	w.login(r.lb, email, password, email)
	agent := w.startAgent()
	const size, long = 24 * MiB, "/laptop/pictures/long.mp4"
	want[id+long] = w.file("long.mp4", mp4Header, size, 21)
	for i := range 5 {
		rel := fmt.Sprintf("2026/later_%d.jpg", i)
		want[id+"/laptop/pictures/"+rel] = w.file(rel, jpegHeader(t), int64(300<<10+i*1000), uint64(40+i))
	}
	w.eventually(60*time.Second, "a fifth of long.mp4 is sent", func() bool {
		st, ok := agent.status()
		return ok && len(st.Uploads) == 1 && st.Uploads[0].Percent > 20
	})
	before := r.bal.grantsByReplica()
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	killed := time.Now()
	if _, stored := w.sizes()[id+long]; stored {
		t.Fatal("long.mp4 was stored before replica A was killed")
	}
	w.eventually(120*time.Second, "every file is stored after the kill", func() bool { return len(w.sizes()) == len(want) })
	t.Logf("replica A killed %s after the agent began; the rest stored %s later", killed.Sub(step).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	after := r.bal.grantsByReplica()
	if after[1] == before[1] {
		t.Errorf("B answered no grant call after A was killed (%v, then %v)", before, after)
	}
	if st, _ := agent.status(); st.Totals.Failed != 0 {
		t.Errorf("%d failed uploads after the kill, want none (%v)", st.Totals.Failed, st.Errors)
	}
	agent.stop()
	r.assertStored(w, id, want)
	w.assertNoIncomplete()
}

// replicaSet is two account services on one PostgreSQL database and one S3
// server, codes sent by SMTP, and a load balancer in front of both.
type replicaSet struct {
	t       *testing.T
	replica [2]*stack // each replica, addressed directly
	lb      *stack    // both, through the load balancer: as devices reach them
	bal     *balancer
	mail    mailSink
	srv     *miniotest.Server
	db      string // the database's URL
}

// startReplicas starts two replicas, the same config but for the listen
// address and state_dir, and the load balancer whose address is their
// public_url.
func startReplicas(t *testing.T) *replicaSet {
	r := &replicaSet{t: t, mail: newMailSink(t), srv: startS3(t), db: pgtest.DB(t)}
	proxy := miniotest.NewProxy(t, r.srv.Endpoint)
	dir := t.TempDir()
	secret := make([]byte, 32)
	rand.Read(secret)
	files := map[string]string{
		"secret.key":     base64.StdEncoding.EncodeToString(secret) + "\n",
		"storage.secret": r.srv.SecretKey + "\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := [2]int{miniotest.FreePort(t), miniotest.FreePort(t)}
	r.bal = newBalancer(t, fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]))
	for i, port := range ports {
		s := &stack{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), config: filepath.Join(dir, fmt.Sprintf("account-%c.yaml", 'a'+i)),
			srv: r.srv, proxy: proxy, logs: &syncBuffer{}, codes: r.mail.codeOf(t)}
		text := fmt.Sprintf(`listen: 127.0.0.1:%d
public_url: %s
state_dir: %s
store: %s
secret_key_file: %s
trusted_proxies: [127.0.0.1/32]
tokens:
  access_ttl: 15m
storage:
  endpoint: %s
  bucket: %s
  access_key: %s
  secret_key_file: %s
  grant_ttl: 5s
delivery:
  email:
    smtp:
      host: 127.0.0.1
      port: %d
      from: cloudkeep <no-reply@example.com>
      starttls: false
`, port, r.bal.url, filepath.Join(dir, fmt.Sprintf("state-%c", 'a'+i)), r.db, filepath.Join(dir, "secret.key"),
			proxy.Addr, r.srv.Bucket, r.srv.AccessKey, filepath.Join(dir, "storage.secret"), r.mail.Port())
		if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		r.replica[i] = s
		startReplica(s)
	}
	r.lb = &stack{t: t, url: r.bal.url, srv: r.srv, proxy: proxy, logs: &syncBuffer{}, codes: r.mail.codeOf(t)}
	return r
}

// startReplica starts one replica (not in --dev mode: its codes go by
// SMTP) and waits until it answers.
func startReplica(s *stack) {
	s.t.Helper()
	s.cmd = execCommand(testbin.Cloudkeep(s.t), "account-server", "--config", s.config, "--log-format", "json")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		if s.t.Failed() {
			s.t.Logf("account service %s:\n%s", s.url, s.logs)
		}
	})
	s.waitUp(20 * time.Second)
}

// captcha asks s for a captcha and returns its ID and the digits it shows,
// read from the store.
func (r *replicaSet) captcha(s *stack) (id, answer string) {
	r.t.Helper()
	resp, err := http.Get(s.url + wire.PathCaptcha)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var c wire.Captcha
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.CaptchaID == "" {
		r.t.Fatalf("captcha: %d %v", resp.StatusCode, err)
	}
	conn, err := pgx.Connect(r.t.Context(), r.db)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(r.t.Context())
	if err := conn.QueryRow(r.t.Context(), `SELECT hash FROM codes WHERE id = $1`, "captcha:"+c.CaptchaID).Scan(&answer); err != nil {
		r.t.Fatalf("the captcha's digits in the store: %v", err)
	}
	return c.CaptchaID, answer
}

// assertStored checks that the bucket holds exactly want (key → SHA-256)
// and that the store's usage of the account counts each object once.
func (r *replicaSet) assertStored(w *world, id string, want map[string]string) {
	r.t.Helper()
	sizes := w.sizes()
	var total int64
	for key, sum := range want {
		if got := w.contentSHA256(key); got != sum {
			r.t.Errorf("%s: sha256 %s, want %s", key, got, sum)
		}
		total += sizes[key]
	}
	if len(sizes) != len(want) {
		r.t.Errorf("the bucket holds %d objects, want %d: %v", len(sizes), len(want), sizes)
	}
	conn, err := pgx.Connect(r.t.Context(), r.db)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(r.t.Context())
	var used, objects int64
	if err := conn.QueryRow(r.t.Context(), `SELECT used, objects FROM usage WHERE account_id = $1`, id).Scan(&used, &objects); err != nil {
		r.t.Fatalf("usage of %s: %v", id, err)
	}
	// The device's manifest counts in its account's usage too.
	wantObjects := int64(len(want))
	for o := range w.srv.Client.ListObjects(r.t.Context(), w.srv.Bucket, minio.ListObjectsOptions{Prefix: id + "/.cloudkeep/", Recursive: true}) {
		if o.Err != nil {
			r.t.Fatal(o.Err)
		}
		total += o.Size
		wantObjects++
	}
	if used != total || objects != wantObjects {
		r.t.Errorf("usage of %s in the store: %d bytes in %d objects, want %d bytes in %d (the manifest included)", id, used, objects, total, wantObjects)
	}
}

// readCredentials reads the agent's credentials file.
func readCredentials(t *testing.T, w *world) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.state, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(b, &c)
	out := map[string]string{}
	for k, v := range c {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// send posts body as JSON (or GETs, when body is nil) to base+path with
// the headers hdr and returns the status and answer.
func send(t *testing.T, base, path string, hdr map[string]string, body any) (int, map[string]any) {
	t.Helper()
	method, rd := "GET", io.Reader(nil)
	if body != nil {
		b, _ := json.Marshal(body)
		method, rd = "POST", bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// bearer is send with an access token.
func bearer(t *testing.T, base, path, token string, body any) (int, map[string]any) {
	t.Helper()
	return send(t, base, path, map[string]string{"Authorization": "Bearer " + token}, body)
}

// balancer is a round-robin HTTP load balancer: each request goes to the
// next replica; one that refuses the connection is skipped (as nginx's
// proxy_next_upstream error does), a request already sent is not sent
// again.
type balancer struct {
	url      string
	backends []string
	next     atomic.Uint64
	grants   [2]atomic.Int64 // grant calls answered, per replica
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{url: "http://" + l.Addr().String(), backends: backends}
	srv := &http.Server{Handler: b}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

var balancerTransport = &http.Transport{DisableKeepAlives: true}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	first := b.next.Add(1)
	for i := range uint64(len(b.backends)) {
		n := (first + i) % uint64(len(b.backends))
		req := r.Clone(r.Context())
		req.RequestURI, req.URL.Scheme, req.URL.Host = "", "http", b.backends[n]
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.Header.Add("X-Forwarded-For", strings.Split(r.RemoteAddr, ":")[0])
		resp, err := balancerTransport.RoundTrip(req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if r.URL.Path == wire.PathStorageGrant {
			b.grants[n].Add(1)
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica answers", http.StatusBadGateway)
}

// grantsByReplica returns the grant calls each replica has answered.
func (b *balancer) grantsByReplica() [2]int64 {
	return [2]int64{b.grants[0].Load(), b.grants[1].Load()}
}

// mailSink is a real SMTP server that keeps the codes it is sent.
type mailSink struct{ *smtptest.Server }

var mailCode = regexp.MustCompile(`is (\d{6})\.`)

func newMailSink(t *testing.T) mailSink { return mailSink{smtptest.New(t)} }

// lastCode returns the last code sent to address.
func (m mailSink) lastCode(t *testing.T, address string) string {
	t.Helper()
	var codes []string
	for _, msg := range m.Messages(address) {
		if c := mailCode.FindStringSubmatch(msg.Body); c != nil {
			codes = append(codes, c[1])
		}
	}
	if len(codes) == 0 {
		t.Fatalf("no code was mailed to %s", address)
	}
	return codes[len(codes)-1]
}

// codeOf is lastCode for a stack.
func (m mailSink) codeOf(t *testing.T) func(string) string {
	return func(address string) string { return m.lastCode(t, address) }
}
