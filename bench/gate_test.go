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
	"strconv"
	"strings"
	"syscall"
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
	pid        int // the account service's process
}

// startGate starts the account service for srv, makes an account and
// signs a device in; the device's config is written by gateConfig.
func startGate(b testing.TB, srv *miniotest.Server) *gate {
	return startGateBin(b, srv, testbin.Cloudkeep(b))
}

// startGateBin is startGate with the account service run from bin.
func startGateBin(b testing.TB, srv *miniotest.Server, bin string) *gate {
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
	cmd := exec.Command(bin, "account-server", "--config", config, "--dev")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	g.pid = cmd.Process.Pid
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
	calls, _ := backupWith(b, testbin.Cloudkeep(b), config)
	return calls
}

// backupWith runs `bin backup` with config and returns the grant calls it
// made (0 in static mode) and its resource usage.
func backupWith(b testing.TB, bin, config string) (int64, *syscall.Rusage) {
	cmd := exec.Command(bin, "backup", "--config", config)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
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
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return calls, ru
}

// cpuOf returns the CPU time process pid has used so far (0 when it
// cannot be read).
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// pidOf finds the process whose command line holds every word (0 when
// none does).
func pidOf(words ...string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		args := string(b)
		found := len(args) > 0
		for _, w := range words {
			found = found && strings.Contains(args, w)
		}
		if found {
			return pid
		}
	}
	return 0
}

// settle starts every run from the same state: the previous run's writes
// flushed to disk (else the kernel throttles the next run's writes while
// it catches up), and MinIO idle again after the bucket was emptied (it
// removes deleted data in the background).
func settle(minioPID int) {
	syscall.Sync()
	for range 50 { // at most 5 s
		c := cpuOf(minioPID)
		time.Sleep(100 * time.Millisecond)
		if cpuOf(minioPID)-c <= 10*time.Millisecond {
			return
		}
	}
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	if ru == nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// benchGate runs `cloudkeep backup` of one data set in static mode and in
// account mode (through the storage gate), on the same MinIO in the same
// run. Compare the two MB/s figures; grant-calls/100-files is the gate's
// cost in round trips. Each mode also reports the CPU seconds per run of
// the device (client-cpu-s), the account service (gate-cpu-s) and MinIO
// (minio-cpu-s), and the device's peak RSS.
//
// With CLOUDKEEP_BENCH_BASELINE set to another cloudkeep binary (say, one
// built from the previous commit) the modes static-base and account-base
// run that binary, as device and as account service, on the same MinIO:
// a before/after comparison in one run. CLOUDKEEP_BENCH_ROUNDS=N runs the
// modes N times in turn (sub-benchmarks "static#01"…), so that a busy
// machine's drift hits every mode alike; use it with -benchtime 1x.
func benchGate(b *testing.B, s spec) {
	d := data(b, s)
	srv := miniotest.Start(b)
	minioPID := pidOf("server", srv.Dir)
	root := d.dir
	type mode struct {
		name, bin string
		gate      *gate
	}
	bin := testbin.Cloudkeep(b)
	modes := []mode{{"static", bin, nil}, {"account", bin, startGate(b, srv)}}
	if base := os.Getenv("CLOUDKEEP_BENCH_BASELINE"); base != "" {
		modes = append(modes, mode{"static-base", base, nil}, mode{"account-base", base, startGateBin(b, srv, base)})
	}
	if order := os.Getenv("CLOUDKEEP_BENCH_MODES"); order != "" { // e.g. "account,static": which, in what order
		var chosen []mode
		for _, name := range strings.Split(order, ",") {
			for _, m := range modes {
				if m.name == name {
					chosen = append(chosen, m)
				}
			}
		}
		modes = chosen
	}
	rounds, _ := strconv.Atoi(os.Getenv("CLOUDKEEP_BENCH_ROUNDS"))
	for range max(rounds, 1) {
		for _, m := range modes {
			runGateMode(b, d, srv, minioPID, root, m.name, m.bin, m.gate)
		}
	}
}

// runGateMode is one mode of benchGate: g is nil in static mode.
func runGateMode(b *testing.B, d *dataset, srv *miniotest.Server, minioPID int, root, name, bin string, g *gate) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(d.bytes)
		var calls int64
		var client, gateCPU, minioCPU float64
		var peak int64
		for b.Loop() {
			b.StopTimer()
			empty(b, srv)
			state, err := os.MkdirTemp("", "cloudkeep-bench-state-") // b.TempDir repeats itself across rounds
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(state)
			config := writeConfig(b, srv, srv.Bucket, root, state, "log: {level: warn}\n")
			gatePID := 0
			if g != nil {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(filepath.Join(g.state, "journal.db"+suffix))
				}
				config = g.config(b, root)
				gatePID = g.pid
			}
			settle(minioPID)
			g0, m0 := cpuOf(gatePID), cpuOf(minioPID)
			b.StartTimer()
			n, ru := backupWith(b, bin, config)
			b.StopTimer()
			calls += n
			gateCPU += (cpuOf(gatePID) - g0).Seconds()
			minioCPU += (cpuOf(minioPID) - m0).Seconds()
			client += cpuSeconds(ru)
			if ru != nil {
				peak = max(peak, ru.Maxrss*1024)
			}
			b.StartTimer()
		}
		n := float64(b.N)
		if g != nil {
			b.ReportMetric(float64(calls)*100/n/float64(len(d.files)), "grant-calls/100-files")
			b.ReportMetric(gateCPU/n, "gate-cpu-s")
		}
		b.ReportMetric(client/n, "client-cpu-s")
		b.ReportMetric(minioCPU/n, "minio-cpu-s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	})
}

func BenchmarkGate500x2MiB(b *testing.B)    { benchGate(b, phonePhotos) }
func BenchmarkGate1GiB(b *testing.B)        { benchGate(b, bigVideo) }
func BenchmarkGate10000x20KiB(b *testing.B) { benchGate(b, thumbnails) }

// TestGate_FewGrantCalls is the short version of BenchmarkGate500x2MiB in
// the suite: a pass over 100 small photos in account mode stores them all
// with their grants fetched a window ahead (one call for many puts) and
// the commits riding along, instead of a call per file (100 to 200 calls).
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
	// A call per file would be 100 (200 with commits of their own); the
	// pass also stores the device's manifest at its end (a put and its
	// commit), and a loaded machine spreads the commits over more of the
	// 200 ms ticks: 11 calls were seen.
	if calls == 0 || calls > 16 {
		t.Errorf("%d grant calls for 100 files, want 1 to 16 (grants fetched ahead, commits riding along)", calls)
	}
	t.Logf("%d grant calls for 100 files", calls)
}

func keysIn(t testing.TB, srv *miniotest.Server) []string {
	var out []string
	for o := range srv.Client.ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if isManifest(o.Key) {
			continue
		}
		out = append(out, o.Key)
	}
	return out
}
