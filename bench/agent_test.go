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
	"syscall"
	"testing"
	"time"

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
	p := &agentProc{cmd: exec.Command(testbin.Cloudkeep(tb), "run", "--config", config), lines: make(chan map[string]any, 1024)}
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
		p := startAgent(b, srv, srv.Bucket, photos, state, "")
		m := p.waitFor(b, "scanned")
		startup := time.Since(p.start)
		b.ReportMetric(m["took_ms"].(float64)/1000, "reconcile-s")
		b.ReportMetric(startup.Seconds(), "startup-s")
		if m["unchanged"].(float64) != 100000 {
			b.Fatalf("scan: %v, want 100000 unchanged", m)
		}
		b.StopTimer()
		pid := p.cmd.Process.Pid
		before := cpuOf(pid)
		time.Sleep(idle)
		cpu := cpuOf(pid) - before
		b.StartTimer()
		b.ReportMetric(float64(cpu.Milliseconds())/idle.Minutes(), "idle-cpu-ms/min")
		b.ReportMetric(float64(p.stop())/(1<<20), "peak-RSS-MiB")
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
