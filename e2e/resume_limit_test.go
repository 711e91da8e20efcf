package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// crashMidUpload starts `cloudkeep backup`, kills it with SIGKILL once
// until holds, and returns its log.
func (w *world) crashMidUpload(until func() bool) string {
	w.t.Helper()
	cmd := w.command("backup", "--log-format", "json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !until(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			w.t.Fatalf("the backup never got there; log:\n%s", logs.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	return logs.String()
}

// Under a bandwidth limit a file sends one part at a time, so a crash half
// way keeps what was sent: the run after it sends only the rest, plus the
// part that was in flight.
func TestBackup_CrashUnderBandwidthLimitKeepsParts(t *testing.T) {
	w := newWorld(t)
	const size = 20 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 41)
	w.writeConfig("  bandwidth_limit: 4MiB/s\n")
	w.crashMidUpload(func() bool { return w.proxy.Sent() >= size/2 })
	first := w.proxy.Sent()
	parts := w.journalCount(`SELECT count(*) FROM parts`)

	w.proxy.Reset()
	w.writeConfig("")
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("second run exited %d: %s %s", res.code, res.stdout, res.stderr)
	}
	total := first + w.proxy.Sent()
	t.Logf("killed after %d bytes with %d parts stored; %d bytes sent in all", first, parts, total)
	if most := int64(size + 5*MiB + 512<<10); total > most {
		t.Errorf("sent %d bytes in all, want at most %d: the file once plus the part in flight (%d parts were stored at the kill)", total, most, parts)
	}
	key := "alice/laptop/pictures/movie.mp4"
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s", key, got, sum)
	}
	w.assertNoIncomplete()
}

// A video whose upload was cut by a crash, then moved out of the folder:
// the next backup aborts its multipart upload (the scan finds it gone).
func TestBackup_AbortsUploadOfFileGoneAfterCrash(t *testing.T) {
	w := newWorld(t)
	w.file("w.mp4", mp4Header, 40*MiB, 42)
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	w.crashMidUpload(func() bool { return w.journalCount(`SELECT count(*) FROM parts`) >= 1 })
	if err := os.Rename(filepath.Join(w.photos, "w.mp4"), filepath.Join(w.dir, "w.mp4")); err != nil {
		t.Fatal(err)
	}
	if n := w.incomplete(); n != 1 {
		t.Fatalf("%d incomplete uploads after the crash, want 1", n)
	}
	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("backup exited %d: %s %s", res.code, res.stdout, res.stderr)
	}
	w.assertNoIncomplete()
	if n := w.journalCount(`SELECT count(*) FROM uploads`); n != 0 {
		t.Errorf("%d uploads left in the journal, want 0", n)
	}
}

// The same with the daemon: the upload is aborted while it runs, not on
// some later start.
func TestRun_AbortsUploadOfFileGoneAfterCrash(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 1s\n"
	w.file("w.mp4", mp4Header, 40*MiB, 43)
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	r := w.startAgent()
	w.eventually(30*time.Second, "a part is stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 1
	})
	r.kill()
	if err := os.Rename(filepath.Join(w.photos, "w.mp4"), filepath.Join(w.dir, "w.mp4")); err != nil {
		t.Fatal(err)
	}
	r = w.startAgent()
	w.eventually(15*time.Second, "the upload of the file moved away is aborted", func() bool {
		return w.incomplete() == 0
	})
	w.eventually(5*time.Second, "the journal forgets it", func() bool {
		return w.journalCount(`SELECT count(*) FROM uploads`) == 0
	})
	r.stop()
}

// An upload resumed after a crash is one job: the first scan, which finds
// the same file while it is being uploaded, queues nothing more.
func TestRun_ResumedUploadCountsOnce(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 1s\n"
	w.file("v.mp4", mp4Header, 40*MiB, 44)
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	r := w.startAgent()
	w.eventually(30*time.Second, "two parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 2
	})
	r.kill()
	// Other files ahead of it in the walk, so that the first scan meets
	// the video after a worker has taken up its resumed upload.
	ahead := filepath.Join(w.photos, "a")
	if err := os.Mkdir(ahead, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if err := os.WriteFile(filepath.Join(ahead, fmt.Sprintf("%d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.writeConfig("  bandwidth_limit: 20MiB/s\n")
	r = w.startAgent()
	sawQueued := false
	w.eventually(30*time.Second, "the video is stored", func() bool {
		if st, ok := r.status(); ok && len(st.Uploads) > 0 && st.Queue.Files > 0 {
			sawQueued = true
		}
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 1
	})
	time.Sleep(2 * time.Second) // a second upload, if any, would be quick: the object is there
	st, _ := r.status()
	r.stop()
	logs := r.logs.String()
	if n, m := logLines(logs, "uploaded"), logLines(logs, "already stored"); n != 1 || m != 0 {
		t.Errorf("log: %d uploaded and %d already stored lines, want 1 and 0", n, m)
	}
	if st.Totals.Uploaded != 1 || st.Totals.AlreadyStored != 0 {
		t.Errorf("status: %d uploaded, %d already stored, want 1 and 0", st.Totals.Uploaded, st.Totals.AlreadyStored)
	}
	if sawQueued {
		t.Error("status showed the file queued while it was being uploaded")
	}
	w.assertNoIncomplete()
}
