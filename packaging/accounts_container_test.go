package packaging_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
	"github.com/cloudkeep/cloudkeep/internal/smtptest"
)

const (
	accountsConfig = "/etc/cloudkeep/account.yaml"
	accountsSecret = "/etc/cloudkeep/accounts-storage-secret-key"
	accountsState  = "/var/lib/cloudkeep-accounts"
)

// The account service installed from the .deb under a real systemd, as an
// administrator runs it: it refuses to start until delivery is configured
// and names the key to fill in, then runs sandboxed as cloudkeep-accounts,
// mails a sign-up PIN through a real SMTP server, grants a device a PUT
// into a real MinIO, survives an upgrade with its accounts, stops cleanly,
// and leaves nothing behind when purged. The subtests run in order, each
// on what the previous ones left.
func TestDeb_AccountsService(t *testing.T) {
	began := time.Now()
	c := nspawntest.Boot(t)
	s3 := miniotest.Start(t)
	copyDebs(t, c, "0.0.0+a", "0.0.1")
	a := &accounts{c: c, s3: s3, mail: newMailSink(t), port: miniotest.FreePort(t)}
	a.url = "http://127.0.0.1:" + strconv.Itoa(a.port)
	runInOrder(t, []step{
		{"install", a.testInstall},
		{"unconfigured", a.testUnconfigured},
		{"secret owner", a.testSecretOwner},
		{"start", a.testStart},
		{"sign up and store", a.testSignupAndStore},
		{"security", a.testSecurity},
		{"low port", a.testLowPort},
		{"upgrade", a.testUpgrade},
		{"stop", a.testStop},
		{"remove", a.testRemove},
		{"purge", a.testPurge},
	})
	t.Logf("account service container test: %v in all", time.Since(began).Round(time.Millisecond))
}

// accounts is the account service's container test: the container, the
// servers on the host's loopback, and what the steps leave for the next.
type accounts struct {
	c      *nspawntest.Container
	s3     *miniotest.Server
	mail   *mailSink
	port   int    // the service listens on 127.0.0.1:port
	url    string // http://127.0.0.1:port
	config string // account.yaml as the administrator filled it in
	id     string // the account signed up
}

const accountsPassword = "correct horse 42"

// testInstall: the package adds the unit, disabled, its config for the
// service's user to read, and the user.
func (a *accounts) testInstall(t *testing.T) {
	a.c.Run(t, "dpkg", "-i", "/root/old.deb")
	if got := a.state("is-enabled"); got != "disabled" {
		t.Errorf("after install: systemctl is-enabled cloudkeep-accounts: got %q, want disabled", got)
	}
	if got := a.c.Run(t, "stat", "-c", "%U:%G %a", accountsConfig); got != "root:cloudkeep-accounts 640\n" {
		t.Errorf("%s: got %q, want root:cloudkeep-accounts 640", accountsConfig, got)
	}
	if got := a.c.Run(t, "getent", "passwd", "cloudkeep-accounts"); !strings.HasSuffix(got, ":/var/lib/cloudkeep-accounts:/usr/sbin/nologin\n") {
		t.Errorf("the service's user: %q", got)
	}
}

// testUnconfigured: unedited, it refuses to start, once (a bad config is
// not retried), and the journal names the file, the line and the key.
func (a *accounts) testUnconfigured(t *testing.T) {
	packaged := a.c.Run(t, "cat", accountsConfig)
	if out, err := a.c.Exec("systemctl", "start", "cloudkeep-accounts"); err == nil {
		t.Fatalf("systemctl start with the packaged config: succeeded, want a failure\n%s", out)
	}
	if got := a.state("is-failed"); got != "failed" {
		t.Errorf("after a bad config: systemctl is-failed: got %q, want failed (no restart)", got)
	}
	line := 1 + strings.Count(packaged[:strings.Index(packaged, "      host:")], "\n")
	want := fmt.Sprintf("cloudkeep: %s:%d: delivery.email.smtp.host: no way to send codes: fill in delivery.email.smtp (host and from) or delivery.sms.webhook.url", accountsConfig, line)
	if j := a.c.Journal(t, "cloudkeep-accounts"); !strings.Contains(j, want) {
		t.Errorf("journal: want %q in:\n%s", want, j)
	}
	a.config = a.fill(packaged)
	a.c.WriteFile(t, accountsConfig, []byte(a.config), 0o640)
}

// fill fills in the packaged config: SMTP and MinIO on the host's loopback.
func (a *accounts) fill(packaged string) string {
	smtpHost, smtpPort, _ := net.SplitHostPort(a.mail.Addr())
	return strings.NewReplacer(
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:"+strconv.Itoa(a.port),
		`endpoint: ""              # host[:port] of the S3 server, e.g. minio.example.com`, "endpoint: "+a.s3.Endpoint,
		`bucket: ""`, "bucket: "+a.s3.Bucket,
		"secure: true              # false for plain http", "secure: false",
		`access_key: ""`, "access_key: "+a.s3.AccessKey,
		`secret_key_file: ""`, "secret_key_file: "+accountsSecret,
		`host: ""              # e.g. smtp.example.com`, "host: "+smtpHost,
		"port: 587", "port: "+smtpPort,
		`from: ""`, "from: cloudkeep <no-reply@example.com>",
		"starttls: true", "starttls: false",
	).Replace(packaged)
}

// testSecretOwner: a secret file the service's user cannot read is named,
// with the fix.
func (a *accounts) testSecretOwner(t *testing.T) {
	a.c.WriteFile(t, accountsSecret, []byte(a.s3.SecretKey+"\n"), 0o600)
	if out, err := a.c.Exec("systemctl", "start", "cloudkeep-accounts"); err == nil {
		t.Fatalf("systemctl start with a secret file owned by root: succeeded, want a failure\n%s", out)
	}
	want := fmt.Sprintf("%s cannot be read by cloudkeep-accounts, the user this runs as: run `chown cloudkeep-accounts %s`", accountsSecret, accountsSecret)
	if j := a.c.Journal(t, "cloudkeep-accounts"); !strings.Contains(j, want) {
		t.Errorf("journal: want %q in:\n%s", want, j)
	}
	a.c.Run(t, "chown", "cloudkeep-accounts:cloudkeep-accounts", accountsSecret)
}

// testStart: systemctl enable --now of a Type=notify unit returns once the
// service sent READY=1; it runs as its user, keeps its state private and
// reaches the storage; the sign-up page answers on the host.
func (a *accounts) testStart(t *testing.T) {
	a.c.Run(t, "systemctl", "enable", "--now", "cloudkeep-accounts")
	want := map[string]string{"Type": "notify", "ActiveState": "active", "SubState": "running", "User": "cloudkeep-accounts"}
	if got := a.show(t, "Type", "ActiveState", "SubState", "User"); !maps.Equal(got, want) {
		t.Errorf("systemctl show: got %v, want %v", got, want)
	}
	if got := a.c.Run(t, "stat", "-c", "%U %a", accountsState, accountsState+"/accounts.db"); got != "cloudkeep-accounts 700\ncloudkeep-accounts 600\n" {
		t.Errorf("state dir and database: got owner and mode %q, want cloudkeep-accounts 700 and 600", got)
	}
	if j := a.c.Journal(t, "cloudkeep-accounts"); !strings.Contains(j, "storage gate ready") {
		t.Errorf("journal: the storage gate did not reach MinIO:\n%s", j)
	}
	api := &apiClient{t: t, url: a.url}
	if code := api.get("/signup"); code != http.StatusOK {
		t.Errorf("GET /signup: got %d, want 200", code)
	}
}

// testSignupAndStore: from the host, a person signs up by email with the
// PIN the mail brings, a device signs in and stores a photo through the
// storage gate.
func (a *accounts) testSignupAndStore(t *testing.T) {
	api := &apiClient{t: t, url: a.url}
	a.id = api.signup(a.mail, "alice@example.com", accountsPassword)
	tokens := api.signin(a.mail, a.id, accountsPassword, "nas")
	a.store(t, api, tokens, a.id+"/nas/photos/2026/first.jpg")
}

// store puts a photo at key through the gate and checks the bucket's bytes.
func (a *accounts) store(t *testing.T, api *apiClient, tokens wire.Tokens, key string) {
	t.Helper()
	body := []byte("a photo stored through the gate of an installed service: " + key)
	api.putThroughGate(tokens, key, body)
	obj, err := a.s3.Client.GetObject(context.Background(), a.s3.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, body) {
		t.Errorf("bucket %s/%s: got %q, %v; want %q", a.s3.Bucket, key, got, err, body)
	}
}

func (a *accounts) testSecurity(t *testing.T) {
	out, _ := a.c.Exec("systemd-analyze", "security", "--no-pager", "cloudkeep-accounts")
	score, rating := exposure(t, []byte(out))
	t.Logf("systemd-analyze security cloudkeep-accounts (systemd 252, in the container): %.1f %s", score, rating)
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want at most 2.0:\n%s", score, rating, out)
	}
}

// testLowPort: a port below 1024 is refused, naming the fix; with the
// drop-in the unit's comments give, the service listens there. Then it is
// back where it was.
func (a *accounts) testLowPort(t *testing.T) {
	low := freeLowPort(t)
	config := strings.Replace(a.config, "listen: 127.0.0.1:"+strconv.Itoa(a.port), "listen: 127.0.0.1:"+strconv.Itoa(low), 1)
	a.c.WriteFile(t, accountsConfig, []byte(config), 0o640)
	if out, err := a.c.Exec("systemctl", "restart", "cloudkeep-accounts"); err == nil {
		t.Errorf("listen on port %d without CAP_NET_BIND_SERVICE: started, want a failure\n%s", low, out)
	}
	line := 1 + strings.Count(config[:strings.Index(config, "\nlisten:")+1], "\n")
	want := fmt.Sprintf("cloudkeep: %s:%d: listen: listen tcp 127.0.0.1:%d: bind: permission denied: a port below 1024 needs CAP_NET_BIND_SERVICE (the comments in cloudkeep-accounts.service say how)", accountsConfig, line, low)
	if j := a.c.Journal(t, "cloudkeep-accounts"); !strings.Contains(j, want) {
		t.Errorf("journal: want %q in:\n%s", want, j)
	}
	if got := a.state("is-failed"); got != "failed" {
		t.Errorf("after a port it may not bind: systemctl is-failed: got %q, want failed (no restart)", got)
	}
	const dropIn = "/etc/systemd/system/cloudkeep-accounts.service.d/low-port.conf"
	a.c.WriteFile(t, dropIn, []byte(lowPortDropIn(t)), 0o644)
	a.c.Run(t, "systemctl", "daemon-reload")
	if out, err := a.c.Exec("systemctl", "restart", "cloudkeep-accounts"); err != nil {
		t.Errorf("listen on port %d with %s: %v\n%s\n%s", low, dropIn, err, out, a.c.Journal(t, "cloudkeep-accounts"))
	} else if code := (&apiClient{t: t, url: "http://127.0.0.1:" + strconv.Itoa(low)}).get("/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz on port %d: got %d, want 200", low, code)
	}
	a.c.Run(t, "systemctl", "revert", "cloudkeep-accounts")
	a.c.WriteFile(t, accountsConfig, []byte(a.config), 0o640)
	a.c.Run(t, "systemctl", "restart", "cloudkeep-accounts")
}

// lowPortDropIn returns the drop-in the unit's comments give.
func lowPortDropIn(t *testing.T) string {
	var b strings.Builder
	on := false
	for _, line := range strings.Split(readFile(t, "cloudkeep-accounts.service"), "\n") {
		if line == "#   [Service]" {
			on = true
		}
		if !on || !strings.HasPrefix(line, "#   ") {
			if on {
				break
			}
			continue
		}
		b.WriteString(strings.TrimPrefix(line, "#   ") + "\n")
	}
	if b.Len() == 0 {
		t.Fatal("cloudkeep-accounts.service gives no drop-in for a low port")
	}
	return b.String()
}

// freeLowPort returns a port below 1024 that is free on the host's
// loopback, which the container shares.
func freeLowPort(t *testing.T) int {
	for p := 1000; p > 900; p-- {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port between 901 and 1000")
	return 0
}

// testUpgrade installs the newer version over the running one: the
// service runs the new binary with the administrator's config and secret,
// and the account signs in again (the accounts database and keys stayed).
func (a *accounts) testUpgrade(t *testing.T) {
	pid := a.show(t, "MainPID")["MainPID"]
	a.c.Run(t, "dpkg", "-i", "/root/new.deb")
	if got := a.show(t, "ActiveState", "MainPID"); got["ActiveState"] != "active" || got["MainPID"] == pid {
		t.Errorf("after the upgrade: %v (MainPID was %s); want active, restarted", got, pid)
	}
	if out := a.c.Run(t, "cloudkeep", "version"); !strings.HasPrefix(out, "cloudkeep 0.0.1\n") {
		t.Errorf("cloudkeep version after the upgrade:\n%s", out)
	}
	if got := a.c.Run(t, "cat", accountsConfig); got != a.config {
		t.Errorf("the upgrade changed %s:\n%s", accountsConfig, got)
	}
	if got := a.c.Run(t, "stat", "-c", "%U:%G %a", accountsSecret); got != "cloudkeep-accounts:cloudkeep-accounts 600\n" {
		t.Errorf("%s after the upgrade: %s", accountsSecret, got)
	}
	api := &apiClient{t: t, url: a.url}
	tokens := api.signin(a.mail, a.id, accountsPassword, "laptop")
	a.store(t, api, tokens, a.id+"/laptop/photos/2026/second.jpg")
}

// testStop: systemctl stop ends the service cleanly: it exited 0.
func (a *accounts) testStop(t *testing.T) {
	a.c.Run(t, "systemctl", "stop", "cloudkeep-accounts")
	// ExecMainCode 1 is CLD_EXITED: the process exited, not killed.
	want := map[string]string{"ActiveState": "inactive", "Result": "success", "ExecMainCode": "1", "ExecMainStatus": "0"}
	if got := a.show(t, "ActiveState", "Result", "ExecMainCode", "ExecMainStatus"); !maps.Equal(got, want) {
		t.Errorf("after systemctl stop: got %v, want %v", got, want)
	}
}

// testRemove: remove stops the running service and keeps the accounts,
// the config and the secret.
func (a *accounts) testRemove(t *testing.T) {
	a.c.Run(t, "systemctl", "start", "cloudkeep-accounts")
	if got := a.state("is-enabled"); got != "enabled" {
		t.Errorf("after the upgrade: systemctl is-enabled cloudkeep-accounts: got %q, want enabled", got)
	}
	a.c.Run(t, "dpkg", "-r", "cloudkeep")
	if got := a.state("is-active"); got != "inactive" {
		t.Errorf("after remove: systemctl is-active cloudkeep-accounts: got %q, want inactive", got)
	}
	for _, path := range []string{accountsState + "/accounts.db", accountsSecret, accountsConfig} {
		if out, err := a.c.Exec("test", "-s", path); err != nil {
			t.Errorf("remove took %s %s", path, out)
		}
	}
}

// testPurge: purge removes the accounts, the secret, the config and the
// service's user and group.
func (a *accounts) testPurge(t *testing.T) {
	a.c.Run(t, "dpkg", "--purge", "cloudkeep")
	for _, path := range []string{accountsState, accountsSecret, accountsConfig, "/lib/systemd/system/cloudkeep-accounts.service"} {
		if out, err := a.c.Exec("test", "-e", path); err == nil {
			t.Errorf("purge left %s %s", path, out)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if out, err := a.c.Exec("getent", db, "cloudkeep-accounts"); err == nil {
			t.Errorf("purge left the cloudkeep-accounts entry of %s: %s", db, out)
		}
	}
	if out := a.c.Run(t, "find", "/etc/systemd", "-name", "cloudkeep-accounts*"); out != "" {
		t.Errorf("purge left links to the unit:\n%s", out)
	}
}

// state returns what `systemctl VERB cloudkeep-accounts` prints
// (is-active, is-enabled, is-failed), whatever its exit status.
func (a *accounts) state(verb string) string {
	out, _ := a.c.Exec("systemctl", verb, "cloudkeep-accounts")
	return strings.TrimSpace(out)
}

// show returns properties of cloudkeep-accounts.service.
func (a *accounts) show(t *testing.T, props ...string) map[string]string {
	t.Helper()
	out := a.c.Run(t, "systemctl", "show", "-p", strings.Join(props, ","), "cloudkeep-accounts")
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

// apiClient calls the account service's JSON API from the host.
type apiClient struct {
	t   *testing.T
	url string
}

func (a *apiClient) get(path string) int {
	a.t.Helper()
	resp, err := http.Get(a.url + path)
	if err != nil {
		a.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// post sends body as JSON and decodes a 200 answer into out.
func (a *apiClient) post(path, bearer string, body, out any) {
	a.t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, a.url+path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("POST %s: got %s %s, want 200", path, resp.Status, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		a.t.Fatalf("POST %s: %v in %s", path, err, answer)
	}
}

// signup signs up by email with the PIN the mail brings and returns the
// account ID.
func (a *apiClient) signup(mail *mailSink, email, password string) string {
	a.t.Helper()
	var s wire.SignupResponse
	a.post(wire.PathSignup, "", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"}, &s)
	pin := mail.code(a.t, email, `PIN is (\d{6})`)
	var v wire.SignupVerifyResponse
	a.post(wire.PathSignupVerify, "", wire.SignupVerifyRequest{SignupID: s.SignupID, PIN: pin}, &v)
	var p wire.SignupPasswordResponse
	a.post(wire.PathSignupPassword, "", map[string]string{"signup_id": s.SignupID, "password": password, "confirm": password}, &p)
	if p.AccountID == "" {
		a.t.Fatal("sign-up: no account ID")
	}
	return p.AccountID
}

// signin signs a device in with the code the mail brings.
func (a *apiClient) signin(mail *mailSink, username, password, device string) wire.Tokens {
	a.t.Helper()
	var ch wire.Challenge
	a.post(wire.PathSignin, "", map[string]string{"username": username, "password": password}, &ch)
	code := mail.code(a.t, "", `sign-in code is (\d{6})`)
	var tok wire.Tokens
	a.post(wire.PathSigninVerify, "", wire.SigninVerifyRequest{ChallengeID: ch.ID, Code: code, ClientID: "cloudkeep-agent", DeviceName: device}, &tok)
	return tok
}

// putThroughGate stores body at key: grant, presigned PUT, commit.
func (a *apiClient) putThroughGate(tok wire.Tokens, key string, body []byte) {
	a.t.Helper()
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	var g wire.GrantResponse
	a.post(wire.PathStorageGrant, tok.AccessToken, wire.GrantRequest{Ops: []wire.Op{{Op: wire.OpPut, Key: key, Size: int64(len(body)),
		CRC32C: base64.StdEncoding.EncodeToString(sum[:]), Meta: &wire.Meta{ContentType: "image/jpeg"}}}}, &g)
	r := g.Results[0]
	if r.Error != nil {
		a.t.Fatalf("grant put %s: %+v", key, r.Error)
	}
	req, _ := http.NewRequest(r.Method, r.URL, bytes.NewReader(body))
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("presigned PUT %s: %s %s", key, resp.Status, answer)
	}
	a.post(wire.PathStorageGrant, tok.AccessToken, wire.GrantRequest{Ops: []wire.Op{{Op: wire.OpCommit, Key: key}}}, &g)
	if r := g.Results[0]; r.Error != nil || r.Object == nil || r.Object.Size != int64(len(body)) {
		a.t.Fatalf("commit %s: %+v", key, r)
	}
}

// mailSink is a real SMTP server on the host's loopback that keeps the
// messages it receives; read counts those code has taken.
type mailSink struct {
	*smtptest.Server
	read int
}

func newMailSink(t *testing.T) *mailSink { return &mailSink{Server: smtptest.New(t)} }

// code waits for the next message (to to, unless empty) and returns the
// code pattern's group finds in it.
func (m *mailSink) code(t *testing.T, to, pattern string) string {
	t.Helper()
	m.read++
	msg := m.Wait(t, "", m.read)
	if to != "" && msg.To != to {
		t.Fatalf("mail to %s, want %s", msg.To, to)
	}
	found := regexp.MustCompile(pattern).FindStringSubmatch(msg.Body)
	if found == nil {
		t.Fatalf("no %s in the mail:\n%s", pattern, msg.Body)
	}
	return found[1]
}
