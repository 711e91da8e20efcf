package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dchest/captcha"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/smtptest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

func TestMain(m *testing.M) {
	captcha.SetCustomStore(captchas)
	os.Exit(m.Run())
}

// captchas records each captcha's solution: the test-only hook that lets
// a test solve the picture.
var captchas = &recordingStore{Store: captcha.NewMemoryStore(1000, 10*time.Minute), solutions: map[string]string{}}

type recordingStore struct {
	captcha.Store
	mu        sync.Mutex
	solutions map[string]string
}

func (r *recordingStore) Set(id string, digits []byte) {
	r.mu.Lock()
	s := make([]byte, len(digits))
	for i, d := range digits {
		s[i] = '0' + d
	}
	r.solutions[id] = string(s)
	r.mu.Unlock()
	r.Store.Set(id, digits)
}

func captchaSolution(id string) string {
	captchas.mu.Lock()
	defer captchas.mu.Unlock()
	return captchas.solutions[id]
}

// mailbox keeps messages sent to addresses.
type mailbox struct {
	mu   sync.Mutex
	msgs []sentMessage
}

func (b *mailbox) add(m sentMessage) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

func (b *mailbox) messages(to string) []sentMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []sentMessage
	for _, m := range b.msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// sentMessage is a message sent to an address, by email or by SMS.
type sentMessage = smtptest.Message

// smtpSink is a real SMTP server that keeps what it receives.
type smtpSink struct{ *smtptest.Server }

// messages returns the messages mailed to an address, oldest first; "" for
// every message.
func (s smtpSink) messages(to string) []sentMessage { return s.Messages(to) }

// smsHook is an SMS gateway that keeps what it receives.
type smsHook struct {
	mailbox
	auth []string
}

func (h *smsHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct{ To, Text string }
	json.NewDecoder(r.Body).Decode(&m)
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	h.add(sentMessage{To: m.To, Body: m.Text})
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

type syncBuffer = testbin.Buffer

// env is a running account service with real SQLite, SMTP and webhook.
type env struct {
	t     testing.TB
	svc   *Service
	url   string
	mail  smtpSink
	sms   *smsHook
	clock *clock
	logs  *syncBuffer
	dir   string
}

func newEnv(t testing.TB) *env { t.Helper(); return newEnvOn(t, openSQLite) }

// newEnvOn is newEnv with the store open makes in dir.
func newEnvOn(t testing.TB, open func(t testing.TB, dir string) (Store, error)) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := LoadSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := OpenKeys(context.Background(), store, secret, dir, 15*time.Minute, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, mail: smtpSink{smtptest.New(t)}, sms: &smsHook{}, clock: &clock{}, logs: &syncBuffer{}, dir: dir}
	hook := httptest.NewServer(e.sms)
	t.Cleanup(hook.Close)
	delivery := Delivery{
		Email: &SMTPSender{Host: "127.0.0.1", Port: e.mail.Port(), From: "cloudkeep <no-reply@example.com>"},
		SMS:   &WebhookSender{URL: hook.URL, AuthHeader: "Bearer sms-gateway-secret"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + l.Addr().String()
	log := zerolog.New(e.logs).Level(zerolog.DebugLevel)
	e.svc = NewService(store, keys, delivery, Config{Issuer: e.url, ClientID: "cloudkeep-agent", MinAge: 13,
		MinAgeByRegion: map[string]int{"KR": 14}, AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, // callFrom names the client
	}, secret, log)
	e.svc.now = e.clock.now
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: NewHandler(e.svc, log)}}
	srv.Start()
	t.Cleanup(func() { srv.Close(); store.Close() })
	return e
}

// clientFor is a client address of its own for name: tests that make many
// accounts stay within the sign-ups allowed per client address.
func clientFor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	n := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

// call posts body as JSON (or sends it raw when it is a string) and
// decodes the answer.
func (e *env) call(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.callFrom("", method, path, body)
}

// callFrom is call from the client address ip (X-Forwarded-For through
// the trusted local proxy); "" is the test's own address.
func (e *env) callFrom(ip, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode returns the code in the last message sent to an address.
func (e *env) lastCode(to string) string {
	e.t.Helper()
	msgs := e.mail.messages(to)
	if strings.HasPrefix(to, "+") {
		msgs = e.sms.messages(to)
	}
	if len(msgs) == 0 {
		e.t.Fatalf("no message was sent to %s", to)
	}
	m := codeRE.FindStringSubmatch(msgs[len(msgs)-1].Body)
	if m == nil {
		e.t.Fatalf("no code in the message to %s: %q", to, msgs[len(msgs)-1].Body)
	}
	return m[1]
}

// lastCodeFor waits for the code of a sign-in challenge sent to address:
// with many sign-ins at once, the last message may be another one's.
func (e *env) lastCodeFor(address, challenge string) string {
	e.t.Helper()
	for range 200 {
		for _, m := range e.mail.messages(address) {
			code := codeRE.FindString(m.Body)
			c, err := e.svc.store.Code(context.Background(), challenge)
			if code != "" && err == nil && equalHash(c.Hash, keyedHash(e.svc.secret, "code", c.ID, code)) {
				return code
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("no code for challenge %s reached %s", challenge, address)
	return ""
}

// signup makes an active account by email and returns its ID.
func (e *env) signup(email, password string) string {
	e.t.Helper()
	_, r := e.callFrom(clientFor(email), "POST", "/api/v1/signup", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"})
	id, _ := r["signup_id"].(string)
	if code, r := e.call("POST", "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": e.lastCode(email)}); code != 200 {
		e.t.Fatalf("verify: %d %v", code, r)
	}
	code, r := e.call("POST", "/api/v1/signup/password", map[string]string{"signup_id": id, "password": password, "confirm": password})
	if code != 200 {
		e.t.Fatalf("password: %d %v", code, r)
	}
	return r["account_id"].(string)
}

// connect signs in with password and code and returns the tokens.
func (e *env) connect(user, password, address, device string) map[string]any {
	e.t.Helper()
	code, r := e.call("POST", "/api/v1/signin", map[string]string{"username": user, "password": password})
	if code != 200 {
		e.t.Fatalf("signin: %d %v", code, r)
	}
	code, r = e.call("POST", "/api/v1/signin/verify", map[string]string{"challenge_id": r["challenge_id"].(string),
		"code": e.lastCode(address), "client_id": "cloudkeep-agent", "device_name": device})
	if code != 200 {
		e.t.Fatalf("signin verify: %d %v", code, r)
	}
	return r
}

func newBearer(url, token string) (*http.Request, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}

func doJSON(t testing.TB, req *http.Request) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func httpGet(url string) (*http.Response, error) {
	resp, err := http.Get(url)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func postForm(url, body string) (int, string) {
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
