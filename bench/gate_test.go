package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// gate is an account service (the built binary) holding the keys of srv,
// with one account signed in on a device whose state is in state.
type gate struct {
	url, state string
}

// startGate starts the account service for srv, makes an account and
// signs a device in; the device's config is written by gateConfig.
func startGate(b testing.TB, srv *miniotest.Server) *gate {
	b.Helper()
	dir := b.TempDir()
	port := miniotest.FreePort(b)
	g := &gate{url: fmt.Sprintf("http://127.0.0.1:%d", port), state: b.TempDir()}
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(srv.SecretKey), 0o600)
	config := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\nstorage:\n  endpoint: %s\n  bucket: %s\n  access_key: %s\n  secret_key_file: %s\nlog:\n  level: warn\n",
		port, filepath.Join(dir, "state"), srv.Endpoint, srv.Bucket, srv.AccessKey, secret)
	os.WriteFile(config, []byte(text), 0o600)
	cmd := exec.Command(testbin.Cloudkeep(b), "account-server", "--config", config, "--dev")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitHealthy(b, g.url)
	g.signIn(b, filepath.Join(dir, "state", "outbox.log"))
	return g
}

func waitHealthy(b testing.TB, url string) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("account service at %s did not start", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var benchCode = regexp.MustCompile(`is (\d{6})\.`)

// signIn signs up bench@example.com and writes the device's credentials.
func (g *gate) signIn(b testing.TB, outbox string) {
	b.Helper()
	const email, password = "bench@example.com", "bench-pass-123"
	code := func() string {
		f, _ := os.Open(outbox)
		defer f.Close()
		last := ""
		for sc := bufio.NewScanner(f); sc.Scan(); {
			if m := benchCode.FindStringSubmatch(sc.Text()); m != nil {
				last = m[1]
			}
		}
		return last
	}
	r := g.post(b, "/api/v1/signup", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"})
	id := r["signup_id"].(string)
	g.post(b, "/api/v1/signup/verify", map[string]string{"signup_id": id, "pin": code()})
	g.post(b, "/api/v1/signup/password", map[string]string{"signup_id": id, "password": password, "confirm": password})
	ctx := context.Background()
	c := &auth.Client{URL: g.url, ClientID: "cloudkeep-agent"}
	ch, err := c.Signin(ctx, email, password)
	if err != nil {
		b.Fatal(err)
	}
	t, err := c.SigninVerify(ctx, ch.ID, code(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	creds := auth.Credentials{AccountURL: g.url, ClientID: "cloudkeep-agent", AccountID: t.AccountID, DeviceID: t.DeviceID,
		DeviceName: "bench", AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, AccessIssued: now,
		AccessExpiry: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
	if err := (auth.File{Path: filepath.Join(g.state, auth.FileName)}).Save(creds); err != nil {
		b.Fatal(err)
	}
}

func (g *gate) post(b testing.TB, path string, body any) map[string]any {
	b.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(g.url+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

// config writes the device's config for account mode and returns its path.
func (g *gate) config(b testing.TB, folder string) string {
	config := filepath.Join(g.state, "config.yaml")
	text := fmt.Sprintf("device:\n  name: bench\naccount:\n  url: %s\nstorage:\n  credentials:\n    mode: account\nwatch:\n  - path: %s\n    name: photos\nstate_dir: %s\nlog: {level: debug, format: json}\n",
		g.url, folder, g.state)
	os.WriteFile(config, []byte(text), 0o600)
	return config
}

// backupOnce runs `cloudkeep backup` with config and returns the grant
// calls it made (0 in static mode).
func backupOnce(b testing.TB, config string) int64 {
	cmd := exec.Command(testbin.Cloudkeep(b), "backup", "--config", config)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		b.Fatalf("backup: %v\n%s\n%s", err, out, tail(stderr.String()))
	}
	var calls int64
	for _, line := range strings.Split(stderr.String(), "\n") {
		var m struct {
			Message    string `json:"message"`
			GrantCalls int64  `json:"grant_calls"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Message == "storage grants" {
			calls = m.GrantCalls
		}
	}
	return calls
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// benchGate runs `cloudkeep backup` of one data set in static mode and in
// account mode (through the storage gate), alternately, on the same MinIO
// in the same run. Compare the two MB/s figures; grant-calls/100-files is
// the gate's cost in round trips.
func benchGate(b *testing.B, set string) {
	d := data(b, set)
	srv := miniotest.Start(b)
	root := filepath.Dir(d.files[0])
	g := startGate(b, srv)
	for _, mode := range []string{"static", "account"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(d.bytes)
			var calls int64
			for b.Loop() {
				b.StopTimer()
				empty(b, srv)
				config := writeConfig(b, srv, root, b.TempDir(), "log: {level: warn}\n")
				if mode == "account" {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						os.Remove(filepath.Join(g.state, "journal.db"+suffix))
					}
					config = g.config(b, root)
				}
				b.StartTimer()
				calls += backupOnce(b, config)
			}
			if mode == "account" {
				b.ReportMetric(float64(calls)*100/float64(b.N)/float64(len(d.files)), "grant-calls/100-files")
			}
		})
	}
}

func BenchmarkGate500x2MiB(b *testing.B) { benchGate(b, "500x2MiB") }
func BenchmarkGate1GiB(b *testing.B)     { benchGate(b, "1GiB") }

// TestGate_FewGrantCalls is the short version of BenchmarkGate500x2MiB in
// the suite: a pass over 100 small photos in account mode stores them all
// with fewer grant calls than files.
func TestGate_FewGrantCalls(t *testing.T) {
	srv := miniotest.Start(t)
	g := startGate(t, srv)
	root := t.TempDir()
	for i := range 100 {
		name := filepath.Join(root, fmt.Sprintf("IMG_%04d.jpg", i))
		body := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{byte(i)}, 64<<10)...)
		if err := os.WriteFile(name, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	calls := backupOnce(t, g.config(t, root))
	if n := len(keysIn(t, srv)); n != 100 {
		t.Fatalf("%d objects stored, want 100", n)
	}
	if calls == 0 || calls >= 100 {
		t.Errorf("%d grant calls for 100 files, want fewer than one per file", calls)
	}
	t.Logf("%d grant calls for 100 files", calls)
}

func keysIn(t testing.TB, srv *miniotest.Server) []string {
	var out []string
	for o := range srv.Client.ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}
