package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// running is a `cloudkeep run` process.
type running struct {
	w    *world
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

type syncBuffer = testbin.Buffer

// startAgent starts `cloudkeep run` and waits until it answers on its
// control socket (its watches are in place by then).
func (w *world) startAgent() *running {
	w.t.Helper()
	r := &running{w: w, cmd: w.command("run", "--log-format", "json", "--log-level", "debug"), logs: &syncBuffer{}, done: make(chan error, 1)}
	w.t.Cleanup(func() {
		if w.t.Failed() {
			w.t.Logf("agent log:\n%s", r.logs)
		}
	})
	r.cmd.Stderr = r.logs
	if err := r.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	w.t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done; r.done <- nil })
	w.eventually(10*time.Second, "the agent answers on its socket", func() bool {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			w.t.Fatalf("agent exited: %v\n%s", err, r.logs)
		default:
		}
		_, ok := r.status()
		return ok
	})
	return r
}

func (r *running) status() (agent.Status, bool) {
	res := r.w.run("status", "--json")
	var s agent.Status
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &s) != nil || s.StartedAt.IsZero() {
		return s, false
	}
	return s, true
}

// stop sends SIGTERM and returns the exit code and how long it took.
func (r *running) stop() (int, time.Duration) {
	start := time.Now()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.w.t.Fatalf("agent did not stop within 30s\n%s", r.logs)
	}
	r.done <- nil // for the cleanup
	return r.cmd.ProcessState.ExitCode(), time.Since(start)
}

// kill sends SIGKILL.
func (r *running) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.done <- nil
}

// eventually polls cond until it holds or the limit passes.
func (w *world) eventually(limit time.Duration, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting until %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sizes returns every key in the bucket with its size, but the devices'
// manifests (.cloudkeep/).
func (w *world) sizes() map[string]int64 {
	out := map[string]int64{}
	for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil && !strings.Contains("/"+o.Key, "/.cloudkeep/") {
			out[o.Key] = o.Size
		}
	}
	return out
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
