package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// The environment that makes this test binary the plain minio-go peer
// (see TestMain): it puts every file of the folder into the bucket, with
// the keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const (
	putDirEnv      = "CLOUDKEEP_BENCH_PUT_DIR"
	putEndpointEnv = "CLOUDKEEP_BENCH_PUT_ENDPOINT"
	putBucketEnv   = "CLOUDKEEP_BENCH_PUT_BUCKET"
)

// putMain is the plain minio-go peer as a program of its own, so that its
// CPU and memory are measured like the other peers': PutObject with
// minio-go's defaults, concurrency files in flight.
func putMain(dir string) int {
	client, err := minio.New(os.Getenv(putEndpointEnv), &minio.Options{Creds: credentials.NewEnvAWS()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	files := make([]string, len(entries))
	for i, e := range entries {
		files[i] = filepath.Join(dir, e.Name())
	}
	if err := uploadAll(plainMinio(client, os.Getenv(putBucketEnv)), files, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// copyRun is one copy of a data set's folder into a fresh bucket.
type copyRun struct {
	srv    *miniotest.Server
	bucket string
	dir    string // the data set's folder
	tmp    string // an empty folder for the program's config and state
}

// program is a peer that copies a folder into a bucket, run as a new user
// would run it: defaults, credentials given the way its manual shows.
type program struct {
	name    string
	bin     string // empty when it is not installed
	missing string // then, why
	command func(bin string, r copyRun) *exec.Cmd
}

// programs returns cloudkeep and its peers, in the table's order.
func programs(tb testing.TB) []program {
	mc, mcErr := cachedBinary("mc", "CLOUDKEEP_MC_BIN", "scripts/install-mc.sh")
	rclone, rcloneErr := cachedBinary("rclone", "CLOUDKEEP_RCLONE_BIN", "scripts/install-rclone.sh")
	return []program{
		{name: "cloudkeep backup", bin: testbin.Cloudkeep(tb), command: func(bin string, r copyRun) *exec.Cmd {
			config := writeConfig(tb, r.srv, r.bucket, r.dir, r.tmp, "")
			return exec.Command(bin, "backup", "--config", config)
		}},
		{name: "mc mirror", bin: mc, missing: errText(mcErr), command: func(bin string, r copyRun) *exec.Cmd {
			return mcCommand(bin, r.srv, r.tmp, "mirror", r.dir, "bench/"+r.bucket)
		}},
		{name: "rclone copy", bin: rclone, missing: errText(rcloneErr), command: func(bin string, r copyRun) *exec.Cmd {
			cmd := exec.Command(bin, "copy", r.dir, "bench:"+r.bucket)
			cmd.Env = append(os.Environ(),
				"RCLONE_CONFIG="+filepath.Join(r.tmp, "rclone.conf"), // none: only the remote below
				"RCLONE_CONFIG_BENCH_TYPE=s3",
				"RCLONE_CONFIG_BENCH_PROVIDER=Minio",
				"RCLONE_CONFIG_BENCH_ENDPOINT=http://"+r.srv.Endpoint,
				"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="+r.srv.AccessKey,
				"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="+r.srv.SecretKey)
			return cmd
		}},
		{name: fmt.Sprintf("minio-go PutObject, %d in flight", concurrency), bin: os.Args[0], command: func(bin string, r copyRun) *exec.Cmd {
			cmd := exec.Command(bin, "-test.run=^$")
			cmd.Env = append(os.Environ(), putDirEnv+"="+r.dir, putEndpointEnv+"="+r.srv.Endpoint, putBucketEnv+"="+r.bucket,
				"AWS_ACCESS_KEY_ID="+r.srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+r.srv.SecretKey)
			return cmd
		}},
	}
}

// mcCommand runs mc with an alias "bench" for srv, its config kept in dir.
func mcCommand(bin string, srv *miniotest.Server, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), "MC_CONFIG_DIR="+dir,
		fmt.Sprintf("MC_HOST_bench=http://%s:%s@%s", srv.AccessKey, srv.SecretKey, srv.Endpoint))
	return cmd
}

// cachedBinary returns the pinned peer program name from $envVar or the
// repository's .cache/bin, never from $PATH (`mc` there may be another
// program of that name).
func cachedBinary(name, envVar, install string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		return p, nil
	}
	root, err := miniotest.RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".cache", "bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("not installed: run %s, or set %s", install, envVar)
	}
	return p, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// result is what one copy cost: seconds of wall time, of the program's
// CPU and of MinIO's, and the program's peak RSS in MiB.
type result struct {
	wall, client, server, rss float64
}

// measure runs cmd to its end and returns its cost.
func measure(tb testing.TB, cmd *exec.Cmd, minioPID int) result {
	tb.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	m0 := cpuOf(minioPID)
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	server := cpuOf(minioPID) - m0
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tail(out.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{wall: wall.Seconds(), client: cpuSeconds(ru), server: server.Seconds(), rss: float64(ru.Maxrss) / 1024}
}

// column is one measure of the table, from a run's result.
type column struct {
	head   string
	higher bool // more is better
	value  func(r result, d *dataset) float64
}

var columns = []column{
	{"wall s", false, func(r result, _ *dataset) float64 { return r.wall }},
	{"MB/s", true, func(r result, d *dataset) float64 { return float64(d.bytes) / 1e6 / r.wall }},
	{"files/s", true, func(r result, d *dataset) float64 { return float64(len(d.files)) / r.wall }},
	{"client CPU s", false, func(r result, _ *dataset) float64 { return r.client }},
	{"MinIO CPU s", false, func(r result, _ *dataset) float64 { return r.server }},
	{"client + MinIO CPU s", false, func(r result, _ *dataset) float64 { return r.client + r.server }},
	{"client CPU ms/file", false, func(r result, d *dataset) float64 { return r.client * 1000 / float64(len(d.files)) }},
	{"client peak RSS MiB", false, func(r result, _ *dataset) float64 { return r.rss }},
}

// best returns c's best value over runs.
func (c column) best(runs []result, d *dataset) float64 {
	v := c.value(runs[0], d)
	for _, r := range runs[1:] {
		if x := c.value(r, d); (x > v) == c.higher {
			v = x
		}
	}
	return v
}

// TestPeerTable copies each data set with cloudkeep and each installed
// peer, reps times, interleaved (each repetition goes round all programs,
// starting one further along), each copy into a fresh bucket of one
// MinIO, and prints one table of the best runs with cloudkeep's ratio to
// the best peer. It checks that every copy stored every file; it asserts
// no timing. Quick on tiny data unless CLOUDKEEP_BENCH=full.
func TestPeerTable(t *testing.T) {
	specs, reps := []spec{
		{"1 file of 8 MiB", 1, 8 * MiB, ".mp4"},
		{"5 files of 2 MiB", 5, 2 * MiB, ".jpg"},
		{"10 files of 200 KiB", 10, 200 << 10, ".jpg"},
		{"20 files of 20 KiB", 20, 20 << 10, ".jpg"},
	}, 1
	if full() {
		specs, reps = []spec{bigVideo, phonePhotos, smallPhotos, thumbnails}, 3
	}
	srv := miniotest.Start(t)
	minioPID := pidOf("server", srv.Dir)
	var progs []program
	var notes []string
	for _, p := range programs(t) {
		if p.bin == "" {
			notes = append(notes, fmt.Sprintf("%s: skipped, %s", p.name, p.missing))
			t.Logf("%s: skipped, %s", p.name, p.missing)
			continue
		}
		progs = append(progs, p)
	}
	ds := make([]*dataset, len(specs))
	runs := make([][][]result, len(specs)) // [data set][program][repetition]
	n := 0
	for si, s := range specs {
		d := data(t, s)
		ds[si] = d
		runs[si] = make([][]result, len(progs))
		for rep := range reps {
			for k := range progs {
				pi := (k + rep) % len(progs)
				n++
				r := copyRun{srv: srv, bucket: fmt.Sprintf("run-%03d", n), dir: d.dir, tmp: t.TempDir()}
				runs[si][pi] = append(runs[si][pi], copyOnce(t, progs[pi], r, d, minioPID))
			}
		}
	}
	fmt.Print(table(ds, progs, runs, reps, notes))
}

// copyOnce makes r's bucket, runs p into it, checks that it holds the
// data set, and removes it.
func copyOnce(tb testing.TB, p program, r copyRun, d *dataset, minioPID int) result {
	ctx := context.Background()
	if err := r.srv.Client.MakeBucket(ctx, r.bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatal(err)
	}
	settle(minioPID)
	res := measure(tb, p.command(p.bin, r), minioPID)
	objs, size := removeBucket(tb, r.srv, r.bucket)
	if objs != len(d.files) || size != d.bytes {
		tb.Fatalf("%s stored %d objects of %d bytes, want %d of %d", p.name, objs, size, len(d.files), d.bytes)
	}
	return res
}

// removeBucket empties and removes bucket, and returns what it held
// besides cloudkeep's manifests (isManifest).
func removeBucket(tb testing.TB, srv *miniotest.Server, bucket string) (objects int, bytes int64) {
	ctx := context.Background()
	var all []minio.ObjectInfo
	for o := range srv.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			tb.Fatal(o.Err)
		}
		all = append(all, o)
		if !isManifest(o.Key) {
			objects++
			bytes += o.Size
		}
	}
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, o := range all {
			ch <- o
		}
	}()
	for err := range srv.Client.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		tb.Fatal(err.Err)
	}
	if err := srv.Client.RemoveBucket(ctx, bucket); err != nil {
		tb.Fatal(err)
	}
	return objects, bytes
}

// table renders the best of each program's runs per data set, and for
// each data set cloudkeep's (the first program's) ratio to the best peer.
func table(ds []*dataset, progs []program, runs [][][]result, reps int, notes []string) string {
	var b strings.Builder
	runsText := "One run each"
	if reps > 1 {
		runsText = fmt.Sprintf("Best of %d runs each, interleaved", reps)
	}
	fmt.Fprintf(&b, "\n%s, fresh bucket per run, one MinIO on this machine (%s).\n", runsText, machine())
	fmt.Fprintf(&b, "Ratio: cloudkeep ÷ the best peer (above 1 is better for MB/s and files/s, below 1 for the rest).\n\n")
	heads := []string{"data", "program"}
	for _, c := range columns {
		heads = append(heads, c.head)
	}
	row(&b, heads)
	row(&b, slices.Repeat([]string{"---"}, len(heads)))
	for si, d := range ds {
		for pi, p := range progs {
			cells := []string{"", p.name}
			if pi == 0 {
				cells[0] = d.label
			}
			for _, c := range columns {
				cells = append(cells, num(c.best(runs[si][pi], d)))
			}
			row(&b, cells)
		}
		if len(progs) > 1 {
			peers := slices.Concat(runs[si][1:]...)
			cells := []string{"", "**cloudkeep ÷ best peer**"}
			for _, c := range columns {
				cells = append(cells, fmt.Sprintf("%.2f×", c.best(runs[si][0], d)/c.best(peers, d)))
			}
			row(&b, cells)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "\n%s", n)
	}
	b.WriteString("\n")
	return b.String()
}

func row(b *strings.Builder, cells []string) {
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}

// num prints v with three significant digits, at most three decimals.
func num(v float64) string {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := min(3, max(0, 2-int(math.Floor(math.Log10(math.Abs(v))))))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// machine describes this machine: CPU model, cores, memory.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s", model, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH)
}

// isManifest reports whether key is a device's manifest, which cloudkeep
// writes beside the files (.cloudkeep/manifests/): the peers write none.
func isManifest(key string) bool { return strings.Contains("/"+key, "/.cloudkeep/") }
