package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size on dir until the test ends. Where
// mounting is not permitted the test is skipped, unless CI is set: there
// it fails.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0777", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a %s tmpfs as a small state_dir (needs root or CAP_SYS_ADMIN): %v: %s", size, err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// fill writes a file in dir until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// A full state disk stops the work with one error naming state_dir and
// what to do, shown in the status; nothing is marked done that is not
// stored; once space is back everything is uploaded without a restart.
func TestRun_StateDiskFull(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the device's own disk filling up")
	w := newWorld(t)
	mountTmpfs(t, w.state, "16m")
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	r := w.startAgent()
	w.file("first.jpg", jpegHeader(t), 10<<10, 1)
	w.eventually(20*time.Second, "the first photo is stored", func() bool { return len(w.sizes()) == 1 })

	filler := fill(t, w.state)
	want := map[string]string{}
	for i := range 60 {
		rel := fmt.Sprintf("IMG_%02d.jpg", i)
		want["alice/laptop/pictures/"+rel] = w.file(rel, jpegHeader(t), 20<<10, uint64(100+i))
	}
	msg := "state_dir " + w.state + " is full: free space; cloudkeep carries on by itself"
	w.eventually(20*time.Second, "status says the state disk is full", func() bool {
		s, _ := r.status()
		return s.StateFull == msg
	})
	if text := w.run("status").stdout; !strings.Contains(text, "\n"+msg+"\n") {
		t.Errorf("status text does not say %q:\n%s", msg, text)
	}
	time.Sleep(2 * time.Second) // more files would be refused by now
	logs := r.logs.String()
	n := strings.Count(logs, "database or disk is full")
	t.Logf("%d log lines name the full disk", n)
	if n > 8 {
		t.Errorf("%d log lines say \"database or disk is full\", want it said once (and by the uploads in flight)", n)
	}
	if n := logLines(logs, msg); n != 1 {
		t.Errorf("%d lines say %q, want 1", n, msg)
	}
	stored := w.sizes()
	if done := w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`); done > len(stored) {
		t.Errorf("%d files marked done, %d stored", done, len(stored))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	w.eventually(60*time.Second, "every photo is stored", func() bool { return len(w.sizes()) == 61 })
	t.Logf("all stored %s after space was freed", time.Since(freed).Round(time.Millisecond))
	got := w.objects()
	for key, sum := range want {
		if got[key] != sum {
			t.Errorf("%s: sha256 %q, want %q", key, got[key], sum)
		}
	}
	w.eventually(10*time.Second, "the journal has 61 done rows", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 61
	})
	if s, _ := r.status(); s.StateFull != "" {
		t.Errorf("status still says %q", s.StateFull)
	}
	if n := logLines(r.logs.String(), "state_dir has room again: carrying on"); n != 1 {
		t.Errorf("%d lines say the state disk has room again, want 1", n)
	}
}

// `backup` on a full state disk stops with one line naming state_dir, and
// backs everything up once space is back.
func TestBackup_StateDiskFull(t *testing.T) {
	sameOnEveryServer(t, "the device's own disk filling up")
	w := newWorld(t)
	mountTmpfs(t, w.state, "16m")
	w.file("first.jpg", jpegHeader(t), 10<<10, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("first backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	filler := fill(t, w.state)
	for i := range 40 {
		w.file(fmt.Sprintf("IMG_%02d.jpg", i), jpegHeader(t), 20<<10, uint64(100+i))
	}
	res := w.run("backup")
	// The journal cannot even be opened (SQLite makes its shared-memory
	// file first), or it fails on the first write.
	want := "state_dir " + w.state + " is full: free space, then run the backup again"
	lines := strings.Count(res.stdout+res.stderr, want)
	t.Logf("backup on a full disk said:\n%s%s", res.stdout, res.stderr)
	if res.code != 1 || lines != 1 || strings.Count(res.stdout, "failed: ") > 1 {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1 and one failure: %s (…)", res.code, res.stdout, res.stderr, want)
	}
	if n := strings.Count(res.stderr, "database or disk is full"); n > 4 {
		t.Errorf("%d log lines say the disk is full, want about one", n)
	}
	if done, stored := w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`), len(w.sizes()); done > stored {
		t.Errorf("%d files marked done, %d stored", done, stored)
	}
	os.Remove(filler)
	if res := w.run("backup"); res.code != 0 || len(w.sizes()) != 41 {
		t.Errorf("backup after space was freed: exit %d, %d objects, want 0 and 41\n%s", res.code, len(w.sizes()), res.stdout)
	}
}
