package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// `backup` whose state disk fills up during a big upload stops with one
// line naming state_dir: no file counted failed, no journal jargon.
func TestBackup_StateDiskFullDuringBigUpload(t *testing.T) {
	sameOnEveryServer(t, "the device's own disk filling up")
	w := newWorld(t)
	mountTmpfs(t, w.state, "16m")
	sum := w.file("big.mp4", mp4Header, 40*MiB, 5)
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	cmd := w.command("backup")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the upload has begun", func() bool {
		return w.journalCount(`SELECT count(*) FROM uploads`) == 1
	})
	filler := fill(t, w.state)
	cmd.Wait()
	out := stdout.String() + stderr.String()
	t.Logf("backup said:\n%s", out)
	want := "state_dir " + w.state + " is full: free space, then run the backup again"
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("%d lines say %q, want 1", n, want)
	}
	for _, bad := range []string{"failed: ", "not backed up", "mark file", "upload failed"} {
		if strings.Contains(out, bad) {
			t.Errorf("output says %q; want only the state_dir line", bad)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup after space was freed: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := w.contentSHA256("alice/laptop/pictures/big.mp4"); got != sum {
		t.Errorf("stored sha256 %s, want %s", got, sum)
	}
	w.assertNoIncomplete()
}

// The agent whose state disk fills up during a big upload says so once,
// counts no failure, and shows the files that wait for room as queued.
func TestRun_StateDiskFullDuringBigUpload(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "the device's own disk filling up")
	w := newWorld(t)
	mountTmpfs(t, w.state, "16m")
	w.top = "settle: 200ms\n"
	sum := w.file("big.mp4", mp4Header, 40*MiB, 6)
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	r := w.startAgent()
	w.eventually(30*time.Second, "the upload has begun", func() bool {
		return w.journalCount(`SELECT count(*) FROM uploads`) == 1
	})
	filler := fill(t, w.state)
	msg := "state_dir " + w.state + " is full: free space; cloudkeep carries on by itself"
	w.eventually(30*time.Second, "status says the state disk is full", func() bool {
		s, _ := r.status()
		return s.StateFull == msg
	})
	for i := range 30 {
		w.file(fmt.Sprintf("IMG_%02d.jpg", i), jpegHeader(t), 20<<10, uint64(200+i))
	}
	w.eventually(20*time.Second, "status shows the new photos waiting", func() bool {
		s, _ := r.status()
		return s.Queue.Files >= 30
	})
	st, _ := r.status()
	logs := r.logs.String()
	if n := logLines(logs, "upload failed"); n != 0 {
		t.Errorf("%d \"upload failed\" lines, want 0: the disk is full, not the file", n)
	}
	if n := logLines(logs, msg); n != 1 {
		t.Errorf("%d lines say %q, want 1", n, msg)
	}
	if st.Totals.Failed != 0 || len(st.Errors) != 0 {
		t.Errorf("status counts %d failed, errors %+v; want none", st.Totals.Failed, st.Errors)
	}
	if text := w.run("status").stdout; !strings.Contains(text, fmt.Sprintf("queue: %d file(s)", st.Queue.Files)) {
		t.Errorf("status text does not show the %d files waiting:\n%s", st.Queue.Files, text)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.eventually(60*time.Second, "everything is stored", func() bool { return len(w.sizes()) == 31 })
	if got := w.contentSHA256("alice/laptop/pictures/big.mp4"); got != sum {
		t.Errorf("stored sha256 %s, want %s", got, sum)
	}
	r.stop()
}
