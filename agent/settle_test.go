package agent

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// A file that keeps growing is held back until it stops; a deleted one is
// reported gone.
func TestSettler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		root := Root{Name: "r", Path: dir}
		var ready, gone []string
		s := newSettler(time.Second, func(f Found) { ready = append(ready, f.Rel) },
			func(_ Root, rel string, _ bool) { gone = append(gone, rel) })
		path := filepath.Join(dir, "v.mp4")
		f, _ := os.Create(path)
		defer f.Close()
		ch := change{root: root, abs: path, rel: "v.mp4"}
		for range 5 { // written every 600 ms: never quiet for a second
			f.Write(make([]byte, 1000))
			s.note(ch)
			time.Sleep(600 * time.Millisecond)
			s.check(time.Now())
		}
		if len(ready) != 0 {
			t.Fatalf("a growing file was handed over: %v", ready)
		}
		time.Sleep(time.Second)
		s.check(time.Now())
		if len(ready) != 1 || ready[0] != "v.mp4" {
			t.Fatalf("quiet file: got %v, want [v.mp4]", ready)
		}

		other := filepath.Join(dir, "x.jpg")
		os.WriteFile(other, []byte("x"), 0o644)
		s.note(change{root: root, abs: other, rel: "x.jpg"})
		os.Remove(other)
		time.Sleep(time.Second)
		s.check(time.Now())
		if len(gone) != 1 || gone[0] != "x.jpg" || len(ready) != 1 {
			t.Errorf("deleted file: gone %v, ready %v", gone, ready)
		}
	})
}

// A writer that pauses longer than the settle period without closing is
// caught by the second stat.
func TestSettler_SilentGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "v.mp4")
		os.WriteFile(path, []byte("a"), 0o644)
		var ready int
		s := newSettler(time.Second, func(Found) { ready++ }, func(Root, string, bool) {})
		s.note(change{root: Root{Name: "r", Path: dir}, abs: path, rel: "v.mp4"})
		time.Sleep(500 * time.Millisecond)
		os.WriteFile(path, []byte("ab"), 0o644) // no event reaches the settler
		time.Sleep(600 * time.Millisecond)
		s.check(time.Now())
		if ready != 0 {
			t.Fatal("handed over although the size changed since the event")
		}
		time.Sleep(time.Second)
		s.check(time.Now())
		if ready != 1 {
			t.Errorf("got %d hand-overs, want 1", ready)
		}
	})
}

// leaseRig drives a settler whose lease answers what the test says.
type leaseRig struct {
	t      *testing.T
	s      *settler
	dir    string
	answer error // what the lease answers; nil grants it
	calls  int   // leases tried
	ready  []string
}

func newLeaseRig(t *testing.T, settle time.Duration) *leaseRig {
	r := &leaseRig{t: t, dir: t.TempDir()}
	r.s = newSettler(settle, func(f Found) { r.ready = append(r.ready, f.Rel) }, func(Root, string, bool) {})
	r.s.lease = func(path string) (fs.FileInfo, error) {
		r.calls++
		if r.answer != nil {
			return nil, &fs.PathError{Op: leaseOp, Path: path, Err: r.answer}
		}
		return os.Stat(path)
	}
	return r
}

// write writes a file in root and tells the settler, as the watcher would.
func (r *leaseRig) write(root, name string) {
	path := filepath.Join(r.dir, root, name)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(name), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.s.note(change{root: Root{Name: root, Path: filepath.Join(r.dir, root)}, abs: path, rel: name})
}

// until ticks as the settler's loop does until a file is handed over or
// limit has passed, and returns how long it took.
func (r *leaseRig) until(limit time.Duration) (time.Duration, bool) {
	start, n := time.Now(), len(r.ready)
	for time.Since(start) <= limit {
		time.Sleep(r.s.tick())
		r.s.check(time.Now())
		if len(r.ready) > n {
			return time.Since(start), true
		}
	}
	return limit, false
}

// The settler's decision on each answer of the lease: granted, a quiet file
// is handed over after leaseQuiet; refused because a writer holds it, only
// after leaseHeldCap settle periods; refused for any other reason, after
// the settle period, as without a lease.
func TestSettler_LeaseAnswers(t *testing.T) {
	const settle = 2 * time.Second
	tests := []struct {
		name   string
		answer error
		want   time.Duration // quiet time before the hand-over
	}{
		{"granted", nil, leaseQuiet},
		{"held open by a writer", syscall.EAGAIN, leaseHeldCap * settle}, // the cap counts from the last event
		{"not the owner", syscall.EACCES, settle},
		{"not permitted", syscall.EPERM, settle},
		{"no lease on this file system", syscall.EINVAL, settle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newLeaseRig(t, settle)
				r.answer = tt.answer
				r.write("r", "a.jpg")
				took, ok := r.until(12 * settle)
				if !ok {
					t.Fatalf("not handed over within %s", 12*settle)
				}
				if took < tt.want || took > tt.want+2*r.s.tick() {
					t.Errorf("handed over after %s, want %s (ticks of %s)", took, tt.want, r.s.tick())
				}
				if len(r.ready) != 1 || r.ready[0] != "a.jpg" {
					t.Errorf("handed over %v, want [a.jpg]", r.ready)
				}
			})
		})
	}
}

// A file a writer holds open stays pending while quiet, then is handed over
// at the first look after the writer closed it.
func TestSettler_LeaseHeldThenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLeaseRig(t, 2*time.Second)
		r.answer = syscall.EAGAIN
		r.write("r", "a.jpg")
		if _, ok := r.until(5 * time.Second); ok {
			t.Fatal("handed over while a writer held the file open")
		}
		r.answer = nil // the writer closed it
		took, ok := r.until(time.Second)
		if !ok || took > r.s.tick() {
			t.Errorf("after the close: handed over %v after %s, want at the next look (%s)", ok, took, r.s.tick())
		}
	})
}

// A lease granted on a file that changed since its last event without a
// new one (events still on their way) waits another quiet time.
func TestSettler_LeaseGrantedButChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLeaseRig(t, 2*time.Second)
		r.write("r", "a.jpg")
		os.WriteFile(filepath.Join(r.dir, "r", "a.jpg"), []byte("longer"), 0o644) // no event
		took, ok := r.until(time.Second)
		if !ok || took < 2*leaseQuiet {
			t.Errorf("handed over %v after %s, want after a second quiet time (%s)", ok, took, 2*leaseQuiet)
		}
	})
}

// A root whose files cannot be leased goes by the settle period for
// leaseRetry, and says so once; other roots keep the lease.
func TestSettler_LeaseOffPerRoot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		r := newLeaseRig(t, 2*time.Second)
		r.s.log = zerolog.New(&logs)
		r.answer = syscall.EACCES
		r.write("r", "a.jpg")
		r.until(5 * time.Second)
		r.answer = nil
		r.write("r", "b.jpg")
		calls := r.calls
		if took, ok := r.until(5 * time.Second); !ok || took < 2*time.Second {
			t.Errorf("second file of the root: handed over %v after %s, want after the settle period", ok, took)
		}
		if r.calls != calls {
			t.Errorf("lease tried %d times within leaseRetry, want none", r.calls-calls)
		}
		if took, ok := r.writeAndWait("other", "c.jpg"); !ok || took > leaseQuiet+2*r.s.tick() {
			t.Errorf("another root: handed over %v after %s, want after %s", ok, took, leaseQuiet)
		}
		time.Sleep(leaseRetry)
		if took, ok := r.writeAndWait("r", "d.jpg"); !ok || took > leaseQuiet+2*r.s.tick() {
			t.Errorf("after leaseRetry: handed over %v after %s, want after %s", ok, took, leaseQuiet)
		}
		r.answer = syscall.EACCES
		r.writeAndWait("r", "e.jpg")
		if n := strings.Count(logs.String(), "cannot take a read lease"); n != 1 {
			t.Errorf("logged %d times, want once per root:\n%s", n, logs.String())
		}
	})
}

func (r *leaseRig) writeAndWait(root, name string) (time.Duration, bool) {
	r.write(root, name)
	return r.until(5 * time.Second)
}

// A file that cannot be opened goes by the settle period, and does not
// turn the lease off for its root.
func TestSettler_LeaseUnreadableFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLeaseRig(t, 2*time.Second)
		granted := r.s.lease
		r.s.lease = func(path string) (fs.FileInfo, error) {
			if filepath.Base(path) == "locked.jpg" {
				return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
			}
			return granted(path)
		}
		r.write("r", "locked.jpg")
		if took, ok := r.until(5 * time.Second); !ok || took < 2*time.Second {
			t.Errorf("unreadable file: handed over %v after %s, want after the settle period", ok, took)
		}
		if took, ok := r.writeAndWait("r", "b.jpg"); !ok || took > leaseQuiet+2*r.s.tick() {
			t.Errorf("next file of the root: handed over %v after %s, want after %s", ok, took, leaseQuiet)
		}
	})
}

// A writer that keeps the file open and writes steadily for longer than
// the cap, then stalls for less than the cap: nothing is handed over during
// the stall, since the cap counts from the file's last event.
func TestSettler_LeaseCapFromLastEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle = 2 * time.Second
		r := newLeaseRig(t, settle)
		r.answer = syscall.EAGAIN
		for end := time.Now().Add(23 * time.Second); time.Now().Before(end); {
			r.write("r", "rec.mp4")
			if _, ok := r.until(300 * time.Millisecond); ok {
				t.Fatal("handed over while its writer wrote it")
			}
		}
		if _, ok := r.until(3 * time.Second); ok {
			t.Fatal("handed over during a 3 s stall of a writer that holds the file open")
		}
		r.write("r", "rec.mp4")
		r.answer = nil // the writer closed it
		if _, ok := r.until(time.Second); !ok || len(r.ready) != 1 {
			t.Errorf("after the close: handed over %v, want [rec.mp4] once", r.ready)
		}
	})
}

// A writer that closes the file and opens it again to append: the first
// chunk goes by the lease, then the file is judged by the settle period, so
// the chunks in between are not handed over; once quiet for learnForget,
// the lease is trusted again.
func TestSettler_ReopenedGoesBySettle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle = 2 * time.Second
		r := newLeaseRig(t, settle)
		r.write("r", "log.mp4")
		if _, ok := r.until(time.Second); !ok {
			t.Fatal("the first chunk was not handed over by its lease")
		}
		for range 5 { // 0.4 s later, each time: append and close
			time.Sleep(400 * time.Millisecond)
			r.write("r", "log.mp4")
		}
		took, ok := r.until(2 * settle)
		if !ok || took < settle || len(r.ready) != 2 {
			t.Fatalf("after the appends: handed over %v after %s, want the second once after %s", r.ready, took, settle)
		}
		time.Sleep(learnForget)
		r.write("r", "log.mp4")
		if took, ok := r.until(settle); !ok || took >= settle {
			t.Errorf("after %s of quiet: handed over %v after %s, want by the lease", learnForget, ok, took)
		}
	})
}

// recent keeps at most max paths, and forgets each after ttl.
func TestRecent(t *testing.T) {
	now := time.Unix(1000, 0)
	r := newRecent(time.Second, 2)
	r.put("a", now)
	r.put("b", now.Add(500*time.Millisecond))
	r.put("c", now.Add(1200*time.Millisecond)) // a has expired: it goes
	if len(r.at) != 2 || r.has("a", now.Add(1200*time.Millisecond)) || !r.has("b", now.Add(1200*time.Millisecond)) {
		t.Errorf("got %v, want b and c", r.at)
	}
	r.put("d", now.Add(1300*time.Millisecond)) // none expired: one goes
	if len(r.at) != 2 || !r.has("d", now.Add(1300*time.Millisecond)) {
		t.Errorf("got %v, want d and one other", r.at)
	}
	if r.has("d", now.Add(2300*time.Millisecond)) {
		t.Error("d kept past its ttl")
	}
}

// A chmod (or a rescan's look) soon after a hand-over by the lease is not
// a writer reopening the file: its lease is still trusted.
func TestSettler_ChmodAfterLeaseNotLearnt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLeaseRig(t, 2*time.Second)
		r.write("r", "a.jpg")
		if _, ok := r.until(time.Second); !ok {
			t.Fatal("not handed over by its lease")
		}
		time.Sleep(400 * time.Millisecond)
		path := filepath.Join(r.dir, "r", "a.jpg")
		r.s.note(change{root: Root{Name: "r", Path: filepath.Join(r.dir, "r")}, abs: path, rel: "a.jpg", noWrite: true})
		if took, ok := r.until(time.Second); !ok || took > leaseQuiet+2*r.s.tick() {
			t.Errorf("after a chmod: handed over %v after %s, want by the lease", ok, took)
		}
	})
}
