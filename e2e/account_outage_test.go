package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// accountBackup is a `cloudkeep backup` of many small photos in account
// mode, cut once some of them are stored.
type accountBackup struct {
	s *stack
	w *world
}

func newAccountBackup(t *testing.T, storageExtra string, photos int) *accountBackup {
	s := startStack(t, stackOptions{})
	s.signup("olga@example.com", "olga-pass-31")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig(storageExtra)
	w.login(s, "olga@example.com", "olga-pass-31", "olga@example.com")
	for i := range photos {
		w.file(fmt.Sprintf("IMG_%04d.jpg", i), jpegHeader(t), 20<<10, uint64(i+1))
	}
	return &accountBackup{s: s, w: w}
}

// run starts the backup, calls cut once at least stored photos are in the
// bucket, and returns its exit code, stdout, stderr and the time from the
// cut to its exit.
func (b *accountBackup) run(t *testing.T, stored int, cut func()) (code int, stdout, stderr string, took time.Duration) {
	cmd := b.w.command("backup")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.w.eventually(time.Minute, fmt.Sprintf("%d photos are stored", stored), func() bool { return len(b.s.bucketKeys()) >= stored })
	cut()
	at := time.Now()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("backup still running 3 min after the cut\n%s", errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String(), time.Since(at)
}

var unreachableFor = regexp.MustCompile(` unreachable for (\S+), giving up: `)

// A backup whose account service hangs (SIGSTOP: it accepts connections
// and answers nothing), or whose storage swallows every packet, in the
// middle of many small photos gives up within give_up_after and one
// request_timeout, with one line that names the server that does not
// answer and how long it has not answered; no file is listed as failed,
// and it does not wait for the last commits.
func TestAccountMode_BackupGivesUpWhenAServerHangs(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	const give = 3 * time.Second
	stop := func(b *accountBackup) {
		b.s.cmd.Process.Signal(syscall.SIGSTOP)
		b.s.t.Cleanup(func() { b.s.cmd.Process.Signal(syscall.SIGCONT) })
	}
	service := func(b *accountBackup) string { return "account service at " + regexp.QuoteMeta(b.s.url) }
	for _, tc := range []struct {
		name    string
		timeout time.Duration // request_timeout
		cut     func(b *accountBackup)
		server  func(b *accountBackup) string // what the last line names, a regular expression
	}{
		{"account service stopped", 4 * time.Second, stop, service},
		// The default request_timeout: a grant call gives up after 30 s.
		{"account service stopped, request_timeout 1m", time.Minute, stop, service},
		// The service reaches the storage through the same proxy: a grant
		// call that commits (the service checks the object) hangs as the
		// uploads do, and either may be the first found not answering.
		{"storage swallows packets", 4 * time.Second, func(b *accountBackup) { b.s.proxy.BlackHole() },
			func(b *accountBackup) string {
				return "(storage at " + regexp.QuoteMeta(b.s.proxy.Addr) + "|" + service(b) + ")"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newAccountBackup(t, fmt.Sprintf("  give_up_after: %s\n  request_timeout: %s\n", give, tc.timeout), 600)
			code, stdout, stderr, took := b.run(t, 30, func() { tc.cut(b) })
			t.Logf("backup gave up %s after the cut (give_up_after %s, request_timeout %s)", took.Round(time.Millisecond), give, tc.timeout)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, stderr)
			}
			if most := give + tc.timeout + 3*time.Second; took > most {
				t.Errorf("gave up %s after the cut, want at most %s (give_up_after + request_timeout, and a little)", took.Round(time.Millisecond), most)
			}
			if n := strings.Count(stdout, "  failed: "); n != 0 {
				t.Errorf("%d files listed as failed, want none: the last line says why the backup stopped, once\n%s", n, stdout)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			t.Logf("last line: %s", last)
			if want := "^cloudkeep: " + tc.server(b) + " unreachable for "; !regexp.MustCompile(want).MatchString(last) {
				t.Errorf("last line %q, want it to match %q", last, want)
			}
			m := unreachableFor.FindStringSubmatch(last)
			if m == nil {
				t.Fatalf("last line %q says not how long", last)
			}
			said, err := time.ParseDuration(m[1])
			if err != nil {
				t.Fatal(err)
			}
			if said < give || said > took+time.Second {
				t.Errorf("the line says unreachable for %s; it did not answer for %s (at least give_up_after, %s)", said, took.Round(time.Second), give)
			}
		})
	}
}

// An account service killed (connections refused) and started again in
// the middle of a backup is said once to be unreachable, as the account
// service, and once to be back; the storage, which answered all along,
// is never said to be unreachable; every photo is stored.
func TestAccountMode_BackupRidesOutAKilledAccountService(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the account service and its database")
	const photos = 400
	b := newAccountBackup(t, "  give_up_after: 1m\n  request_timeout: 5s\n", photos)
	code, _, stderr, _ := b.run(t, 30, func() {
		b.s.cmd.Process.Kill()
		b.s.cmd.Wait()
		time.Sleep(2 * time.Second) // down for a while
		b.s.start()
	})
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	if n := len(b.s.bucketKeys()); n != photos {
		t.Errorf("%d photos in the bucket, want %d", n, photos)
	}
	for msg, want := range map[string]int{
		"account service unreachable; the backup gives up unless it answers within 1m0s": 1,
		"account service reachable again":                                                1,
		"storage unreachable; the backup gives up unless it answers within 1m0s":         0,
		"storage reachable again":                                                        0,
	} {
		if n := logLines(stderr, msg); n != want {
			t.Errorf("%d lines %q, want %d\n%s", n, msg, want, stderr)
		}
	}
}
