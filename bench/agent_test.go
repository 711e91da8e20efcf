package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
	"github.com/cloudkeep/cloudkeep/journal"
)

// agentProc is a `cloudkeep run` process whose JSON log is read line by
// line.
type agentProc struct {
	cmd   *exec.Cmd
	lines chan map[string]any
	start time.Time
}

// writeConfig writes an agent config for srv, backing up folder with its
// state in state, and returns its path; extra is appended.
func writeConfig(b *testing.B, srv *miniotest.Server, folder, state, extra string) string {
	b.Helper()
	config := filepath.Join(state, "config.yaml")
	text := fmt.Sprintf(`storage:
  endpoint: %s
  bucket: %s
  user: bench
  credentials: {access_key: %s, secret_key: %s}
watch:
  - path: %s
    name: photos
state_dir: %s
%s`, srv.Endpoint, srv.Bucket, srv.AccessKey, srv.SecretKey, folder, state, extra)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return config
}

func startAgent(b *testing.B, srv *miniotest.Server, photos, state, extra string) *agentProc {
	b.Helper()
	config := writeConfig(b, srv, photos, state, "log: {level: info, format: json}\n"+extra)
	p := &agentProc{cmd: exec.Command(testbin.Cloudkeep(b), "run", "--config", config), lines: make(chan map[string]any, 1024)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.lines <- m
			}
		}
		close(p.lines)
	}()
	b.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// waitFor returns the first log line with the message.
func (p *agentProc) waitFor(b *testing.B, msg string) map[string]any {
	b.Helper()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				b.Fatalf("agent exited before logging %q", msg)
			}
			if m["message"] == msg {
				return m
			}
		case <-timeout:
			b.Fatalf("no %q within 5 minutes", msg)
		}
	}
}

// stop sends SIGTERM and returns the peak RSS in bytes.
func (p *agentProc) stop(b *testing.B) int64 {
	p.cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for range p.lines {
		}
	}()
	p.cmd.Wait()
	ru, _ := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru.Maxrss * 1024
}

// cpuTime returns the process's user+system CPU time so far.
func (p *agentProc) cpuTime(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// BenchmarkAgentLatency measures, over 200 photos saved one after another,
// the time from a photo's close to its object being listed in the bucket,
// with settle: 1s.
func BenchmarkAgentLatency(b *testing.B) {
	srv := miniotest.Start(b)
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		photos, state := b.TempDir(), b.TempDir()
		p := startAgent(b, srv, photos, state, "settle: 1s\n")
		p.waitFor(b, "scanned")
		b.StartTimer()
		lat = append(lat, latencies(b, srv, photos, fmt.Sprintf("bench/%d/", i))...)
		b.StopTimer()
		p.stop(b)
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Milliseconds()), "p95-ms")
}

func latencies(b *testing.B, srv *miniotest.Server, photos, _ string) []time.Duration {
	closed := map[string]time.Time{}
	seen := map[string]time.Duration{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	found := make(chan []string)
	go func() { // list the bucket every 20 ms
		defer close(found)
		for ctx.Err() == nil {
			var keys []string
			for o := range srv.Client.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
				keys = append(keys, o.Key)
			}
			select {
			case found <- keys:
			case <-ctx.Done():
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	writes := time.NewTicker(50 * time.Millisecond)
	defer writes.Stop()
	n := 0
	for len(seen) < 200 {
		select {
		case <-writes.C:
			if n < 200 {
				name := fmt.Sprintf("IMG_%04d.jpg", n)
				writeNoise(b, filepath.Join(photos, name), 200<<10, uint64(n))
				closed[name] = time.Now()
				n++
			}
		case keys := <-found:
			now := time.Now()
			for _, k := range keys {
				name := filepath.Base(k)
				if _, ok := seen[name]; !ok && !closed[name].IsZero() {
					seen[name] = now.Sub(closed[name])
				}
			}
		case <-time.After(time.Minute):
			b.Fatalf("only %d of 200 photos stored", len(seen))
		}
	}
	out := make([]time.Duration, 0, len(seen))
	for _, d := range seen {
		out = append(out, d)
	}
	return out
}

func writeNoise(b *testing.B, path string, size int64, seed uint64) {
	d := &dataset{}
	if err := d.add(path, size, seed); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAgentIdle100k starts the agent on 100,000 files the journal
// already has, reports how long the start-up reconcile takes, the CPU the
// agent then uses while nothing changes, and its peak memory.
func BenchmarkAgentIdle100k(b *testing.B) {
	idle := 60 * time.Second
	if v, err := time.ParseDuration(os.Getenv("CLOUDKEEP_BENCH_IDLE")); err == nil {
		idle = v
	}
	srv := miniotest.Start(b)
	photos, state := b.TempDir(), b.TempDir()
	track100k(b, photos, state)
	for b.Loop() {
		p := startAgent(b, srv, photos, state, "")
		m := p.waitFor(b, "scanned")
		startup := time.Since(p.start)
		b.ReportMetric(m["took"].(float64)/1000, "reconcile-s")
		b.ReportMetric(startup.Seconds(), "startup-s")
		if m["unchanged"].(float64) != 100000 {
			b.Fatalf("scan: %v, want 100000 unchanged", m)
		}
		b.StopTimer()
		before := p.cpuTime(b)
		time.Sleep(idle)
		cpu := p.cpuTime(b) - before
		b.StartTimer()
		b.ReportMetric(float64(cpu.Milliseconds())/idle.Minutes(), "idle-cpu-ms/min")
		b.ReportMetric(float64(p.stop(b))/(1<<20), "peak-RSS-MiB")
	}
}

// track100k writes 100,000 small files in 1,000 folders and records them
// in the journal as backed up, as a long-running agent would have.
func track100k(b *testing.B, photos, state string) {
	j, err := journal.Open(context.Background(), filepath.Join(state, journal.FileName))
	if err != nil {
		b.Fatal(err)
	}
	j.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(state, journal.FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.Begin()
	ins, err := tx.Prepare(`INSERT INTO files (root, path, size, mtime_ns, inode, sha256, state, object_key, created_ns, updated_ns)
		VALUES ('photos', ?, ?, ?, ?, 'x', 'done', ?, 1, 1)`)
	if err != nil {
		b.Fatal(err)
	}
	for d := range 1000 {
		dir := filepath.Join(photos, fmt.Sprintf("%03d", d))
		os.Mkdir(dir, 0o755)
		for f := range 100 {
			rel := fmt.Sprintf("%03d/IMG_%03d.jpg", d, f)
			path := filepath.Join(photos, rel)
			if err := os.WriteFile(path, []byte(headers[".jpg"]), 0o644); err != nil {
				b.Fatal(err)
			}
			fi, _ := os.Stat(path)
			id := journal.IdentityOf(fi)
			if _, err := ins.Exec(rel, id.Size, id.MTime.UnixNano(), id.Inode, "bench/"+rel); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
