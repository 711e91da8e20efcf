// Package nspawntest boots a Debian bookworm container with systemd-nspawn
// for tests: a real systemd (Boot) or no init system at all (Plain), on a
// fresh copy of a root file system cached by scripts/install-nspawn.sh.
//
// The container shares the host's network: a server a test starts on
// 127.0.0.1 is reachable from inside. It needs root, systemd-nspawn and the
// cached root; when one is missing a test fails under CI=true and is
// skipped elsewhere.
package nspawntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Suite is the Debian release of the cached root.
const Suite = "bookworm"

// stampFile, inside a complete cached root, is written last by
// scripts/install-nspawn.sh.
const stampFile = ".cloudkeep-rootfs"

// Timeouts: a container that is not up within bootTimeout fails the test;
// a command run inside is killed after execTimeout.
const (
	bootTimeout = 60 * time.Second
	execTimeout = 2 * time.Minute
	stopTimeout = 20 * time.Second
)

// containerEnv is the environment of commands run inside: the host's is
// not theirs.
var containerEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "DEBIAN_FRONTEND=noninteractive", "SYSTEMD_PAGER=",
}

var machines atomic.Int64

// Container is a running container.
type Container struct {
	name string        // the machine name, unique on the host
	pid1 int           // the container's PID 1, as the host numbers it
	boot bool          // systemd is PID 1
	up   bool          // Boot or Plain returned it: a failure after shows nspawn's output
	cmd  *exec.Cmd     // systemd-nspawn
	out  *syncBuffer   // what systemd-nspawn printed
	done chan struct{} // closed when systemd-nspawn has exited
}

// RootFS returns the cached root file system, or an error that says how to
// build it.
func RootFS() (string, error) {
	cache := os.Getenv("CLOUDKEEP_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(dir, "cloudkeep")
	}
	root := filepath.Join(cache, "rootfs", Suite)
	if _, err := os.Stat(filepath.Join(root, stampFile)); err != nil {
		return "", fmt.Errorf("no cached %s root in %s: run scripts/install-nspawn.sh as root", Suite, root)
	}
	return root, nil
}

// require returns the cached root, or ends the test: a failure under
// CI=true, a skip elsewhere.
func require(t testing.TB) string {
	t.Helper()
	root, err := requirements()
	if err == nil {
		return root
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

func requirements() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("booting a container needs root")
	}
	for _, bin := range []string{"systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			return "", fmt.Errorf("no %s: run scripts/install-nspawn.sh as root", bin)
		}
	}
	return RootFS()
}

// Boot starts a fresh copy of the cached root with systemd as PID 1
// (systemd-nspawn --boot) and returns once the system is up
// (`systemctl is-system-running --wait` answers running or degraded).
// The container is powered off, killed if need be, and its copy removed
// when the test ends.
func Boot(t testing.TB) *Container {
	t.Helper()
	c := start(t, true, "--boot")
	deadline := time.Now().Add(bootTimeout)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		out, _ := c.exec(ctx, "systemctl", "is-system-running", "--wait")
		cancel()
		switch state := strings.TrimSpace(out); state {
		case "running":
			c.up = true
			return c
		case "degraded":
			failed, _ := c.Exec("systemctl", "--failed", "--no-pager", "--no-legend")
			t.Logf("container %s is up, degraded; failed units:\n%s", c.name, failed)
			c.up = true
			return c
		}
		if err := c.waitOr(deadline, 200*time.Millisecond); err != nil {
			t.Fatalf("container %s did not boot: %v (is-system-running: %s)\nsystemd-nspawn:\n%s", c.name, err, out, c.out)
		}
	}
}

// Plain starts a fresh copy of the cached root with no init system: PID 1
// is systemd-nspawn's stub init and the container runs `sleep infinity`.
// /run/systemd/system does not exist, so programs see a System V machine.
// The container is killed and its copy removed when the test ends.
func Plain(t testing.TB) *Container {
	t.Helper()
	c := start(t, false, "--as-pid2", "sleep", "infinity")
	c.up = true
	return c
}

// start copies the root and starts systemd-nspawn with args, and returns
// once the container's PID 1 is its init (for Boot, systemd).
func start(t testing.TB, boot bool, args ...string) *Container {
	t.Helper()
	cached := require(t)
	root := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", "--reflink=auto", cached, root).CombinedOutput(); err != nil {
		t.Fatalf("copy the %s root: %v\n%s", Suite, err, out)
	}
	os.Remove(filepath.Join(root, stampFile))
	c := &Container{
		name: fmt.Sprintf("cloudkeep-test-%d-%d", os.Getpid(), machines.Add(1)),
		boot: boot,
		out:  &syncBuffer{},
		done: make(chan struct{}),
	}
	c.cmd = exec.Command("systemd-nspawn", append([]string{"-D", root, "--machine=" + c.name,
		"--register=no", "--keep-unit", "--console=read-only"}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	// Should the test binary die (a -timeout panic), systemd-nspawn powers
	// the container off: nothing is left running.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.stop(t) })

	init := "(sd-stubinit)"
	if boot {
		init = "systemd"
	}
	deadline := time.Now().Add(bootTimeout)
	for {
		if pid := c.childOf(c.cmd.Process.Pid); pid != 0 && comm(pid) == init {
			c.pid1 = pid
			return c
		}
		if err := c.waitOr(deadline, 50*time.Millisecond); err != nil {
			t.Fatalf("container %s did not start: %v\nsystemd-nspawn:\n%s", c.name, err, c.out)
		}
	}
}

// waitOr waits for pause, unless systemd-nspawn exits or the deadline
// passes first: then it says which.
func (c *Container) waitOr(deadline time.Time, pause time.Duration) error {
	if time.Now().After(deadline) {
		return fmt.Errorf("not up after %v", bootTimeout)
	}
	select {
	case <-c.done:
		return fmt.Errorf("systemd-nspawn exited: %v", c.cmd.ProcessState)
	case <-time.After(pause):
		return nil
	}
}

// childOf returns the pid of a child of the process pid in another PID
// namespace (the container's PID 1), or 0.
func (c *Container) childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	ours, _ := os.Readlink("/proc/self/ns/pid")
	for _, f := range strings.Fields(string(b)) {
		child, _ := strconv.Atoi(f)
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", child)); err == nil && ns != ours {
			return child
		}
	}
	return 0
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// stop powers the container off (systemd-nspawn turns SIGTERM into a
// poweroff under --boot, a kill otherwise), kills it if it takes longer
// than stopTimeout, and removes what systemd-nspawn leaves on the host.
func (c *Container) stop(t testing.TB) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		t.Logf("container %s did not power off within %v: killed", c.name, stopTimeout)
		// A killed systemd-nspawn leaves the container running: its PID 1
		// goes first, and all its processes with it.
		if c.pid1 != 0 {
			syscall.Kill(c.pid1, syscall.SIGKILL)
		}
		c.cmd.Process.Kill()
		<-c.done
	}
	os.RemoveAll(filepath.Join("/run/systemd/nspawn/propagate", c.name))
	if t.Failed() && c.up {
		t.Logf("container %s, systemd-nspawn's output:\n%s", c.name, tail(c.out.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Root returns the host path of the container's / as the container sees
// it (its own /run and /tmp included), while it runs.
func (c *Container) Root() string {
	return fmt.Sprintf("/proc/%d/root", c.pid1)
}

// Exec runs args inside the container, in all its namespaces, as root with
// a plain environment, and returns the combined output. It is killed after
// two minutes.
func (c *Container) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	return c.exec(ctx, args...)
}

func (c *Container) exec(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid1), "-a", "--"}, args...)...)
	cmd.Env = containerEnv
	// nsenter forks into the container's PID namespace: a timeout kills
	// the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("killed after %v: %w", execTimeout, err)
	}
	return string(out), err
}

// Run is Exec that ends the test with the command and its output when the
// command fails.
func (c *Container) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.Exec(args...)
	if err != nil {
		t.Fatalf("in the container: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// WriteFile writes data to path inside the container, making its parents,
// with mode (not filtered by the umask). The file belongs to root.
func (c *Container) WriteFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	host := filepath.Join(c.Root(), path)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(host, mode); err != nil {
		t.Fatal(err)
	}
}

// Journal returns what unit logged, message by message (journalctl -o
// cat). Boot containers only.
func (c *Container) Journal(t testing.TB, unit string) string {
	t.Helper()
	if !c.boot {
		t.Fatalf("Journal(%s): the container has no systemd (Plain)", unit)
	}
	return c.Run(t, "journalctl", "-u", unit, "--no-pager", "-o", "cat")
}

// syncBuffer collects systemd-nspawn's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
