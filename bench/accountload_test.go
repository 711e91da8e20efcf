package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// loadSpec is one run of the account load: devices simulated devices,
// each with its own account, signed up and signed in through the API,
// then for duration asking replicas account services on store ("sqlite"
// or "postgres") for grants, storing small photos and refreshing tokens.
type loadSpec struct {
	name      string
	store     string
	replicas  int
	devices   int
	duration  time.Duration
	photoSize int
	accessTTL time.Duration
	signups   int  // sign-ups and sign-ins in flight at once
	noPhotos  bool // grants only: no photo stored, so no commit either
}

// loadResult is what one run measured. CPU seconds are those of the load
// phase only.
type loadResult struct {
	spec                    loadSpec
	signupTime, signinTime  time.Duration
	signupBusy, signinBusy  int
	elapsed                 time.Duration
	grantsAsked             int
	grants, refreshes, puts int
	serviceCPU, clientCPU   float64
	postgresCPU, minioCPU   float64
	peakRSS, signupRSS      float64 // MiB, the largest replica's, under load and while devices signed up and in
	machineCPU              float64 // CPU seconds the whole machine used (every process, ours or not)
	pgBusyMean, pgBusyFull  float64 // connections in use on average; share of samples with every pool connection in use
	pgPool                  int
	stats                   *loadStats
	stored, photosUploaded  int
	profiles                []string
	setupErrors             string
}

// TestAccountLoad is the short version of TestAccountLoadTable in the
// suite: 20 devices for a few seconds against one account service on
// SQLite and one on PostgreSQL. Every grant asked is answered, no request
// fails, tokens are refreshed during the run, and every photo a device
// stored is in the bucket. It asserts no timing.
func TestAccountLoad(t *testing.T) {
	srv := miniotest.Start(t)
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			r := runLoad(t, srv, loadSpec{name: store, store: store, replicas: 1, devices: 20,
				duration: 6 * time.Second, photoSize: 16 << 10, accessTTL: 10 * time.Second, signups: 8}, true)
			t.Log(r.summary())
			if n := r.stats.errorCount(); n != 0 {
				t.Errorf("%d errors under load: %s", n, r.stats.errorText())
			}
			if r.grants != r.grantsAsked || r.grants == 0 {
				t.Errorf("%d grant calls answered, want all %d asked (and some)", r.grants, r.grantsAsked)
			}
			if r.refreshes == 0 {
				t.Errorf("no token refreshed during the run, want each device to refresh once half its 10 s token is gone")
			}
			if r.stored != r.photosUploaded {
				t.Errorf("%d photos in the bucket, want the %d the devices stored", r.stored, r.photosUploaded)
			}
		})
	}
}

// TestAccountLoadTable is the account service under load (make bench):
// CLOUDKEEP_LOAD_DEVICES devices (1,000) for CLOUDKEEP_LOAD_SECONDS (60)
// against (a) one replica on SQLite, (b) one on PostgreSQL and (c) two on
// PostgreSQL, asked in turn; (d), (e) and (f) are the same without storing
// the photos (grant calls alone, one put each, no commit: the service's
// own ceiling). CLOUDKEEP_LOAD_RUNS=a,b,d picks runs (all by default),
// CLOUDKEEP_LOAD_PROFILE=DIR writes each replica's CPU profile there and
// CLOUDKEEP_LOAD_BIN runs another cloudkeep binary as the service.
func TestAccountLoadTable(t *testing.T) {
	if !full() {
		t.Skip("the full account load runs under CLOUDKEEP_BENCH=full (make bench); TestAccountLoad is its short version")
	}
	base := loadSpec{devices: envInt("CLOUDKEEP_LOAD_DEVICES", 1000), duration: time.Duration(envInt("CLOUDKEEP_LOAD_SECONDS", 60)) * time.Second,
		photoSize: 16 << 10, accessTTL: 30 * time.Second, signups: 32}
	specs := []loadSpec{{name: "(a) 1 replica, SQLite", store: "sqlite", replicas: 1},
		{name: "(b) 1 replica, PostgreSQL", store: "postgres", replicas: 1},
		{name: "(c) 2 replicas, PostgreSQL", store: "postgres", replicas: 2},
		{name: "(d) 1 replica, SQLite, grants only", store: "sqlite", replicas: 1, noPhotos: true},
		{name: "(e) 1 replica, PostgreSQL, grants only", store: "postgres", replicas: 1, noPhotos: true},
		{name: "(f) 2 replicas, PostgreSQL, grants only", store: "postgres", replicas: 2, noPhotos: true}}
	if only := os.Getenv("CLOUDKEEP_LOAD_RUNS"); only != "" { // e.g. "a,b"
		specs = slices.DeleteFunc(specs, func(s loadSpec) bool { return !strings.Contains(only, s.name[1:2]) })
	}
	srv := miniotest.Start(t)
	var results []*loadResult
	for _, s := range specs {
		if _, err := pgtest.BinDir(); s.store == "postgres" && err != nil {
			t.Logf("%s: left out: %v", s.name, err)
			continue
		}
		s.devices, s.duration, s.photoSize, s.accessTTL, s.signups = base.devices, base.duration, base.photoSize, base.accessTTL, base.signups
		r := runLoad(t, srv, s, false)
		t.Log(r.summary())
		results = append(results, r)
	}
	printLoadTable(results)
}

// runLoad starts the replicas, signs every device up and in, runs the
// load and stops the replicas.
func runLoad(t *testing.T, srv *miniotest.Server, s loadSpec, check bool) *loadResult {
	r := &loadResult{spec: s}
	store, port := "", ""
	if s.store == "postgres" {
		store = pgtest.DB(t)
		u, _ := url.Parse(store)
		port = u.Port()
		r.pgPool = s.replicas * max(4, runtime.NumCPU()) // the default pool_max_conns
	}
	secret := writeSecretKey(t) // the service secret every replica shares
	var reps []*replica
	var urls, outboxes []string
	for range s.replicas {
		public := ""
		if len(reps) > 0 {
			public = reps[0].url
		}
		rep := startReplica(t, srv, store, secret, public, s.accessTTL)
		reps = append(reps, rep)
		urls = append(urls, rep.url)
		outboxes = append(outboxes, filepath.Join(rep.dir, "state", "outbox.log"))
	}
	c := newLoadClient(urls, outboxes, s.devices, s.photoSize)
	c.noPhotos = s.noPhotos
	devices := make([]*loadDevice, s.devices)
	for i := range devices {
		devices[i] = newLoadDevice(i)
	}
	r.signupTime = each(t, reps, devices, s.signups, c.signup)
	r.signinTime = each(t, reps, devices, s.signups, c.signin)
	r.signupBusy, r.signinBusy = c.stats.errors["signup password: 503 busy"], c.stats.errors["signin: 503 busy"]
	r.setupErrors = c.stats.errorText()
	c.stats = newLoadStats()
	// Restarted, the replicas' figures (CPU profile, peak RSS) are the
	// load's alone; the devices' tokens stay valid.
	for _, rep := range reps {
		r.signupRSS = max(r.signupRSS, peakRSS(rep.cmd.Process.Pid))
		r.profiles = append(r.profiles, rep.profile)
		rep.stop()
		rep.start(t, "load")
	}

	minioPID := pidOf("server", srv.Dir)
	cpu0, m0, pg0 := replicasCPU(reps), cpuOf(minioPID), postgresCPU(port)
	self0, machine0 := selfCPU(), machineCPU()
	sampler := samplePool(store)
	start := time.Now()
	end := start.Add(s.duration)
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Go(func() { c.run(d, end) })
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.pgBusyMean, r.pgBusyFull = sampler.stop(r.pgPool)
	r.serviceCPU = (replicasCPU(reps) - cpu0).Seconds()
	r.minioCPU = (cpuOf(minioPID) - m0).Seconds()
	r.postgresCPU = (postgresCPU(port) - pg0).Seconds()
	r.clientCPU = (selfCPU() - self0).Seconds()
	r.machineCPU = (machineCPU() - machine0).Seconds()
	for _, rep := range reps {
		r.peakRSS = max(r.peakRSS, peakRSS(rep.cmd.Process.Pid))
	}
	r.grants, r.refreshes, r.puts = c.stats.answered("grant"), c.stats.answered("refresh"), c.stats.answered("storage put")
	r.grantsAsked = r.grants + c.stats.errorsOf("grant")
	r.stats = c.stats
	for _, rep := range reps {
		rep.stop()
		r.profiles = append(r.profiles, rep.profile)
	}
	if check {
		for _, d := range devices {
			r.photosUploaded += d.photos
			r.stored += countObjects(t, srv, d.account+"/")
		}
	}
	return r
}

// each runs f for every device, inFlight at a time, and returns how long
// that took; the first error ends the test, with the replicas' logs.
func each(t *testing.T, reps []*replica, devices []*loadDevice, inFlight int, f func(*loadDevice) error) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	var first sync.Once
	var failed error
	work := make(chan *loadDevice)
	for range inFlight {
		wg.Go(func() {
			for d := range work {
				if err := f(d); err != nil {
					first.Do(func() { failed = fmt.Errorf("device %d: %w", d.n, err) })
				}
			}
		})
	}
	for _, d := range devices {
		work <- d
	}
	close(work)
	wg.Wait()
	if failed != nil {
		for _, r := range reps {
			log, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
			t.Logf("log of %s:\n%s", r.url, tail(string(log)))
		}
		t.Fatal(failed)
	}
	return time.Since(start)
}

// replica is one `cloudkeep account-server` process.
type replica struct {
	url, dir, bin, config string
	port                  int
	cmd                   *exec.Cmd
	profile               string // the CPU profile of the current process, if kept
}

// startReplica starts an account service for srv on store (SQLite in its
// state directory when empty), trusting X-Forwarded-For from 127.0.0.1,
// with codes written to its outbox (--dev). Replicas behind one load
// balancer share publicURL (empty: the replica's own address).
func startReplica(t *testing.T, srv *miniotest.Server, store, secretKey, publicURL string, accessTTL time.Duration) *replica {
	t.Helper()
	dir := t.TempDir()
	port := miniotest.FreePort(t)
	rep := &replica{url: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, port: port, config: filepath.Join(dir, "account.yaml")}
	s3secret := filepath.Join(dir, "s3-secret")
	os.WriteFile(s3secret, []byte(srv.SecretKey), 0o600)
	text := fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\ntrusted_proxies: [127.0.0.1/32]\ntokens:\n  access_ttl: %s\n"+
		"storage:\n  endpoint: %s\n  bucket: %s\n  access_key: %s\n  secret_key_file: %s\nlog:\n  level: warn\n",
		port, filepath.Join(dir, "state"), accessTTL, srv.Endpoint, srv.Bucket, srv.AccessKey, s3secret)
	if store != "" {
		text += "store: " + store + "\n"
	}
	if publicURL != "" { // the tokens' issuer: one for all replicas
		text += "public_url: " + publicURL + "\n"
	}
	text += "secret_key_file: " + secretKey + "\n"
	os.WriteFile(rep.config, []byte(text), 0o600)
	os.Mkdir(filepath.Join(dir, "state"), 0o700) // on PostgreSQL nothing else makes it, and --dev writes outbox.log there
	rep.bin = os.Getenv("CLOUDKEEP_LOAD_BIN")    // another build to compare, else this tree's
	if rep.bin == "" {
		rep.bin = testbin.Cloudkeep(t)
	}
	t.Cleanup(rep.stop)
	rep.start(t, "signup")
	return rep
}

// start starts the replica's process; phase names its CPU profile.
func (r *replica) start(t *testing.T, phase string) {
	r.cmd = exec.Command(r.bin, "account-server", "--config", r.config, "--dev")
	r.profile = ""
	if pdir := os.Getenv("CLOUDKEEP_LOAD_PROFILE"); pdir != "" {
		r.profile = filepath.Join(pdir, fmt.Sprintf("account-server-%d-%s.pprof", r.port, phase))
		r.cmd.Env = append(os.Environ(), "CLOUDKEEP_CPUPROFILE="+r.profile)
	}
	logFile, _ := os.OpenFile(filepath.Join(r.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	defer logFile.Close()
	r.cmd.Stderr = logFile
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(r.url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("account service at %s did not start in 30 s:\n%s", r.url, log)
		}
	}
}

// stop ends the replica's process with SIGINT, so that its CPU profile is
// written.
func (r *replica) stop() {
	if r.cmd == nil || r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}

func replicasCPU(reps []*replica) time.Duration {
	var sum time.Duration
	for _, r := range reps {
		sum += cpuOf(r.cmd.Process.Pid)
	}
	return sum
}

func writeSecretKey(t *testing.T) string {
	key := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(key, randomKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

// randomKey is a service secret, as `head -c 32 /dev/urandom` makes one.
func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// postgresCPU is the CPU time of the PostgreSQL cluster listening on
// port: the postmaster, its children so far and those that ended.
func postgresCPU(port string) time.Duration {
	if port == "" {
		return 0
	}
	main := 0
	forEachProc(func(pid int, stat []string, cmdline string) {
		if strings.Contains(cmdline, "postgres\x00-D") && strings.Contains(cmdline, "\x00-p\x00"+port+"\x00") && !strings.HasPrefix(cmdline, "sh\x00") {
			main = pid
		}
	})
	if main == 0 {
		return 0
	}
	var ticks int64
	forEachProc(func(pid int, stat []string, _ string) {
		ppid, _ := strconv.Atoi(stat[1])
		if pid == main || ppid == main {
			for _, f := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
				n, _ := strconv.ParseInt(stat[f], 10, 64)
				ticks += n
			}
		}
	})
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// forEachProc calls f with every process's id, the fields of its stat
// after "pid (comm) " and its command line.
func forEachProc(f func(pid int, stat []string, cmdline string)) {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		stat := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if len(stat) > 14 {
			f(pid, stat, string(cmdline))
		}
	}
}

// peakRSS is the process's peak resident set (VmHWM), in MiB.
func peakRSS(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kib / 1024
		}
	}
	return 0
}

// machineCPU is the CPU time every process on the machine has used so
// far (from /proc/stat: all but idle and iowait).
func machineCPU() time.Duration {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	var ticks int64
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // user nice system idle iowait irq softirq steal; guest is in user already
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// poolSampler counts, every 100 ms, the connections to the database that
// are not idle: the replicas' pools at work.
type poolSampler struct {
	stopc   chan struct{}
	done    chan struct{}
	samples []int
}

func samplePool(dbURL string) *poolSampler {
	p := &poolSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	if dbURL == "" {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stopc:
				return
			case <-tick.C:
			}
			var n int
			if conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&n) == nil {
				p.samples = append(p.samples, n)
			}
		}
	}()
	return p
}

// stop returns the mean of connections in use and the share of samples
// in which all of pool were.
func (p *poolSampler) stop(pool int) (mean, full float64) {
	close(p.stopc)
	<-p.done
	if len(p.samples) == 0 {
		return 0, 0
	}
	var sum, n int
	for _, s := range p.samples {
		sum += s
		if s >= pool {
			n++
		}
	}
	return float64(sum) / float64(len(p.samples)), float64(n) / float64(len(p.samples))
}

func countObjects(t *testing.T, srv *miniotest.Server, prefix string) int {
	n := 0
	for o := range srv.Client.ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
