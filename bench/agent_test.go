package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// writeConfig writes an agent config for bucket on srv, backing up folder
// with its state in state, and returns its path; extra is appended.
func writeConfig(tb testing.TB, srv *miniotest.Server, bucket, folder, state, extra string) string {
	tb.Helper()
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
%s`, srv.Endpoint, bucket, srv.AccessKey, srv.SecretKey, folder, state, extra)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	return config
}

// startAgent starts `cloudkeep run` backing up photos into bucket.
func startAgent(tb testing.TB, srv *miniotest.Server, bucket, photos, state, extra string) *agentProc {
	tb.Helper()
	config := writeConfig(tb, srv, bucket, photos, state, "log: {level: info, format: json}\n"+extra)
	p := &agentProc{cmd: exec.Command(benchBinary(tb), "run", "--config", config), lines: make(chan map[string]any, 1024)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
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
	tb.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// benchBinary is the cloudkeep binary the agent benchmarks run: the one
// built from this tree, or CLOUDKEEP_BENCH_BIN (another build, to compare).
func benchBinary(tb testing.TB) string {
	if bin := os.Getenv("CLOUDKEEP_BENCH_BIN"); bin != "" {
		return bin
	}
	return testbin.Cloudkeep(tb)
}

// waitFor returns the first log line with the message.
func (p *agentProc) waitFor(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				tb.Fatalf("agent exited before logging %q", msg)
			}
			if m["message"] == msg {
				return m
			}
		case <-timeout:
			tb.Fatalf("no %q within 5 minutes", msg)
		}
	}
}

// stop sends SIGTERM and returns the peak RSS in bytes.
func (p *agentProc) stop() int64 {
	p.cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for range p.lines {
		}
	}()
	p.cmd.Wait()
	ru, _ := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru.Maxrss * 1024
}

// BenchmarkAgentIdle100k starts the agent on 100,000 files the journal
// already has, reports how long the start-up reconcile takes, the CPU the
// agent then uses while nothing changes, and its memory.
func BenchmarkAgentIdle100k(b *testing.B) { benchAgentIdle(b, 1000, 100) }

// BenchmarkAgentIdle1M is BenchmarkAgentIdle100k with 1,000,000 files.
func BenchmarkAgentIdle1M(b *testing.B) { benchAgentIdle(b, 1000, 1000) }

// TestAgentIdle is one quick round of the idle benchmark on 2,000 tracked
// files, so that it cannot rot: the start-up reconcile finds every file
// unchanged and queues none.
func TestAgentIdle(t *testing.T) {
	srv := miniotest.Start(t)
	photos, state := t.TempDir(), t.TempDir()
	trackFiles(t, photos, state, 20, 100)
	p := startAgent(t, srv, srv.Bucket, photos, state, "")
	m := p.waitFor(t, "scanned")
	if m["unchanged"] != 2000.0 || m["queued"] != 0.0 {
		t.Errorf("start-up scan: got %v unchanged, %v queued; want 2000, 0", m["unchanged"], m["queued"])
	}
	if rss := rssOf(p.cmd.Process.Pid); rss <= 0 {
		t.Errorf("RSS of the agent: got %d", rss)
	}
	p.stop()
}

// benchAgentIdle starts the agent on dirs×perDir empty files the journal
// already has as backed up, and reports the time from start to the end
// of the first reconcile (start-up-s), the agent's CPU while nothing
// changes (idle-cpu-% of one core, over CLOUDKEEP_BENCH_IDLE, 60 s by
// default), its memory then (idle-RSS-MiB) and its peak (peak-RSS-MiB).
func benchAgentIdle(b *testing.B, dirs, perDir int) {
	idle := 60 * time.Second
	if v, err := time.ParseDuration(os.Getenv("CLOUDKEEP_BENCH_IDLE")); err == nil {
		idle = v
	}
	n := float64(dirs * perDir)
	srv := miniotest.Start(b)
	photos, state := b.TempDir(), b.TempDir()
	trackFiles(b, photos, state, dirs, perDir)
	for b.Loop() {
		p := startAgent(b, srv, srv.Bucket, photos, state, "")
		m := p.waitFor(b, "scanned")
		startup := time.Since(p.start)
		b.ReportMetric(m["took_ms"].(float64)/1000, "reconcile-s")
		b.ReportMetric(startup.Seconds(), "startup-s")
		if m["unchanged"].(float64) != n || m["queued"].(float64) != 0 {
			b.Fatalf("scan: %v, want %.0f unchanged, none queued", m, n)
		}
		b.StopTimer()
		pid := p.cmd.Process.Pid
		before := cpuOf(pid)
		time.Sleep(idle)
		cpu := cpuOf(pid) - before
		b.StartTimer()
		b.ReportMetric(float64(cpu.Milliseconds())/idle.Minutes(), "idle-cpu-ms/min")
		b.ReportMetric(100*cpu.Seconds()/idle.Seconds(), "idle-cpu-%")
		b.ReportMetric(float64(rssOf(pid))/(1<<20), "idle-RSS-MiB")
		b.ReportMetric(float64(p.stop())/(1<<20), "peak-RSS-MiB")
	}
}

// rssOf returns the resident memory of process pid in bytes, 0 when it
// cannot be read.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// trackFiles writes dirs×perDir empty files and records them in the
// journal as backed up, as a long-running agent would have, in one
// transaction: a million takes about a minute.
func trackFiles(tb testing.TB, photos, state string, dirs, perDir int) {
	tb.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(state, journal.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	j.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(state, journal.FileName)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO files (root, path, size, mtime_ns, inode, sha256, state, object_key, created_ns, updated_ns)
		VALUES ('photos', ?, 0, ?, ?, 'x', 'done', ?, 1, 1)`)
	if err != nil {
		tb.Fatal(err)
	}
	for d := range dirs {
		dir := fmt.Sprintf("%04d", d)
		if err := os.Mkdir(filepath.Join(photos, dir), 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := range perDir {
			rel := fmt.Sprintf("%s/IMG_%04d.jpg", dir, f)
			var st syscall.Stat_t
			fd, err := syscall.Open(filepath.Join(photos, rel), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
			if err == nil {
				err = syscall.Fstat(fd, &st)
				syscall.Close(fd)
			}
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := ins.Exec(rel, st.Mtim.Nano(), st.Ino, "bench/"+rel); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkBackupFirst100k runs the first `cloudkeep backup` of 100,000
// small photos in 1,000 folders and reports its peak memory, wall time and
// CPU.
func BenchmarkBackupFirst100k(b *testing.B) {
	srv := miniotest.Start(b)
	photos := b.TempDir()
	writeSmallPhotos(b, photos, 1000, 100)
	for i := 0; b.Loop(); i++ {
		state := b.TempDir()
		bucket := fmt.Sprintf("first-%d", i)
		if err := srv.Client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
			b.Fatal(err)
		}
		r := firstBackup(b, srv, bucket, photos, state)
		if r.uploaded != 100000 {
			b.Fatalf("uploaded %d files, want 100000", r.uploaded)
		}
		b.ReportMetric(r.wall.Seconds(), "wall-s")
		b.ReportMetric(r.cpu.Seconds(), "client-cpu-s")
		b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak-RSS-MiB")
	}
}

// TestBackupFirst is one quick round of BenchmarkBackupFirst100k on 300
// files, so that it cannot rot.
func TestBackupFirst(t *testing.T) {
	srv := miniotest.Start(t)
	photos := t.TempDir()
	writeSmallPhotos(t, photos, 3, 100)
	r := firstBackup(t, srv, srv.Bucket, photos, t.TempDir())
	if r.uploaded != 300 || r.peakRSS <= 0 {
		t.Errorf("first backup: %d uploaded, peak RSS %d bytes; want 300 uploaded", r.uploaded, r.peakRSS)
	}
}

// writeSmallPhotos writes dirs×perDir photos of 1 KiB, each different.
func writeSmallPhotos(tb testing.TB, photos string, dirs, perDir int) {
	tb.Helper()
	body := make([]byte, 1<<10)
	copy(body, headers[".jpg"])
	for d := range dirs {
		dir := filepath.Join(photos, fmt.Sprintf("%04d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f := range perDir {
			binary.BigEndian.PutUint64(body[len(body)-8:], uint64(d*perDir+f))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("IMG_%04d.jpg", f)), body, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// backupRun is what one `cloudkeep backup` did and cost.
type backupRun struct {
	uploaded int
	wall     time.Duration
	cpu      time.Duration
	peakRSS  int64 // bytes
}

// firstBackup runs `cloudkeep backup` of photos into bucket.
func firstBackup(tb testing.TB, srv *miniotest.Server, bucket, photos, state string) backupRun {
	tb.Helper()
	config := writeConfig(tb, srv, bucket, photos, state, "log: {level: info, format: json}\n")
	cmd := exec.Command(benchBinary(tb), "backup", "--config", config)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("cloudkeep backup: %v\n%s", err, tail(stderr.String()))
	}
	r := backupRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peakRSS = ru.Maxrss * 1024
	}
	for line := range strings.Lines(stderr.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "backup finished" {
			r.uploaded = int(m["uploaded"].(float64))
		}
	}
	return r
}
