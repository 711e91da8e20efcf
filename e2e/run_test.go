package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// 300 files of mixed sizes, written into nested folders created while the
// agent runs, each land once with the right bytes.
func TestRun_NewFilesInNewFolders(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 500ms\n"
	w.writeConfig("")
	r := w.startAgent()
	jpg := jpegHeader(t)
	want := map[string]string{}
	var total int64
	for i := range 300 {
		size := int64(1<<10 + (i*7919)%(1<<20)) // 1 KiB to 1 MiB
		switch {
		case i%60 == 0:
			size = 20*MiB + int64(i)*MiB/15 // five of 20 to 40 MiB
		case i%12 == 0:
			size = 1*MiB + int64(i)*7*MiB/300 // a few of 1 to 8 MiB
		}
		rel := fmt.Sprintf("%d/%02d/IMG_%04d.jpg", 2020+i%3, i%12, i)
		want["alice/laptop/pictures/"+rel] = w.file(rel, jpg, size, uint64(i))
		total += size
	}
	w.eventually(120*time.Second, "300 objects are stored", func() bool { return len(w.sizes()) >= 300 })
	w.eventually(30*time.Second, "the journal has 300 done rows", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 300
	})
	got := w.objects()
	if len(got) != 300 {
		t.Errorf("bucket holds %d objects, want 300", len(got))
	}
	for key, sum := range want {
		if got[key] != sum {
			t.Errorf("%s: sha256 %q, want %q", key, got[key], sum)
		}
	}
	// None twice: what crossed the wire is the files' bytes plus requests.
	if sent := w.proxy.Sent(); sent > total+total/50 {
		t.Errorf("sent %d bytes for %d bytes of files: some were sent twice", sent, total)
	}
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exited %d", code)
	}
}

// A video copied in slowly is uploaded once, when complete.
func TestRun_GrowingFileUploadedOnceComplete(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 1s\n"
	w.writeConfig("")
	r := w.startAgent()
	path := filepath.Join(w.photos, "VID_slow.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	f.Write(mp4Header)
	for i := range 12 { // 6 s of appends, every 500 ms
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		f.Write(chunk)
		time.Sleep(500 * time.Millisecond)
	}
	f.Close()
	final := w.fileSHA256(path)
	key := "alice/laptop/pictures/VID_slow.mp4"
	w.eventually(20*time.Second, "the video is stored", func() bool { return w.objects()[key] == final })
	time.Sleep(2 * time.Second) // anything queued twice would be sent by now
	size := int64(len(mp4Header) + 12*len(chunk))
	if sent := w.proxy.Sent(); sent > size+64<<10 {
		t.Errorf("sent %d bytes for a %d-byte file: uploaded more than once", sent, size)
	}
	if n := w.journalCount(`SELECT attempts FROM files WHERE path = 'VID_slow.mp4'`); n != 1 {
		t.Errorf("journal: %d attempts, want 1", n)
	}
	r.stop()
}

// A folder moved in from outside is uploaded whole; a rename inside a root
// is a server-side copy; temporary and hidden files never leave.
func TestRun_MovesRenamesAndIgnoredFiles(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 300ms\n"
	w.writeConfig("")
	outside := filepath.Join(w.dir, "card")
	jpg := jpegHeader(t)
	for i := range 50 {
		writeFile(t, filepath.Join(outside, "DCIM", fmt.Sprintf("IMG_%02d.jpg", i)), jpg, 64<<10, uint64(i))
	}
	r := w.startAgent()
	if err := os.Rename(outside, filepath.Join(w.photos, "card")); err != nil {
		t.Fatal(err)
	}
	w.file(".hidden.jpg", jpg, 1000, 1)
	w.file("VID.mp4.part", mp4Header, 1000, 2)
	w.file("download.jpg.crdownload", jpg, 1000, 3)
	w.file("~lock.jpg", jpg, 1000, 4)
	w.file(".thumbnails/t.jpg", jpg, 1000, 5)
	w.file("x.tmp", jpg, 1000, 6)
	w.eventually(30*time.Second, "50 moved-in photos are stored", func() bool { return len(w.sizes()) >= 50 })

	w.proxy.Reset()
	big := w.file("VID_big.mp4", mp4Header, 12*MiB, 7)
	w.eventually(30*time.Second, "the video is stored", func() bool { return w.objects()["alice/laptop/pictures/VID_big.mp4"] == big })
	w.proxy.Reset()
	if err := os.Rename(filepath.Join(w.photos, "VID_big.mp4"), filepath.Join(w.photos, "card", "VID_renamed.mp4")); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the renamed video is stored", func() bool {
		return w.objects()["alice/laptop/pictures/card/VID_renamed.mp4"] == big
	})
	if sent := w.proxy.Sent(); sent > 64<<10 {
		t.Errorf("the rename sent %d bytes, want a server-side copy", sent)
	}
	if _, ok := w.sizes()["alice/laptop/pictures/VID_big.mp4"]; !ok {
		t.Error("the old name's object was deleted: local changes must never delete remote copies")
	}
	for key := range w.sizes() {
		if !strings.HasPrefix(key, "alice/laptop/pictures/card/") && key != "alice/laptop/pictures/VID_big.mp4" {
			t.Errorf("unexpected object %s (temporary or hidden files must stay local)", key)
		}
	}
	r.stop()
}

func writeFile(t *testing.T, path string, header []byte, size int64, seed uint64) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o777)
	b := make([]byte, size)
	copy(b, header)
	for i := len(header); i < len(b); i++ {
		b[i] = byte(seed + uint64(i)*31)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *world) fileSHA256(path string) string {
	w.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	return hashReader(w.t, f)
}

// kill -9 with 20 uploads in flight: after a restart every file is stored
// once, finished files are not sent again, and no upload is left open.
func TestRun_KillWithUploadsInFlight(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  bandwidth_limit: 40MiB/s\n  concurrency: {files: 20, parts: 8}\n")
	want := map[string]string{}
	var total int64
	for i := range 20 {
		size := int64(6*MiB + i*300<<10)
		rel := fmt.Sprintf("VID_%02d.mp4", i)
		want["alice/laptop/pictures/"+rel] = w.file(rel, mp4Header, size, uint64(i))
		total += size
	}
	r := w.startAgent()
	w.eventually(60*time.Second, "parts are journaled", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 4
	})
	r.kill()
	stored := w.sizes()
	var storedBytes int64
	for _, n := range stored {
		storedBytes += n
	}
	if len(stored) == 20 {
		t.Fatal("every file was stored before the kill")
	}

	w.proxy.Reset()
	w.writeConfig("  concurrency: {files: 20, parts: 8}\n")
	r = w.startAgent()
	w.eventually(60*time.Second, "all 20 files are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 20
	})
	got := w.objects()
	for key, sum := range want {
		if got[key] != sum || w.contentSHA256(key) != sum {
			t.Errorf("%s: metadata %q, want %q", key, got[key], sum)
		}
	}
	// At most the parts in flight at the kill are sent again.
	if sent, most := w.proxy.Sent(), total-storedBytes+8*5*MiB; sent > most {
		t.Errorf("after the restart %d bytes were sent, want at most %d (the files not stored, plus the parts in flight)", sent, most)
	}
	r.stop()
	w.assertNoIncomplete()
}

// What changed while the agent was stopped is uploaded when it starts;
// what did not change is not sent again.
func TestRun_CatchesUpAfterStop(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	jpg := jpegHeader(t)
	w.file("old.jpg", jpg, 100<<10, 1)
	r := w.startAgent()
	w.eventually(20*time.Second, "old.jpg is stored", func() bool { return len(w.sizes()) == 1 })
	if code, _ := r.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	added := w.file("2025/new.jpg", jpg, 200<<10, 2)
	time.Sleep(10 * time.Millisecond)
	changed := w.file("old.jpg", jpg, 150<<10, 3)
	w.proxy.Reset()
	r = w.startAgent()
	w.eventually(20*time.Second, "both are stored", func() bool {
		o := w.objects()
		return o["alice/laptop/pictures/2025/new.jpg"] == added && o["alice/laptop/pictures/old.jpg"] == changed
	})
	if sent := w.proxy.Sent(); sent > 350<<10+64<<10 {
		t.Errorf("sent %d bytes, want only the two changed files", sent)
	}
	r.stop()
}

// status --json shows the queue and the upload in flight; SIGTERM during
// a big upload exits 0 within the grace period, and the upload resumes on
// the next start without sending its finished parts again.
func TestRun_StatusAndGracefulStop(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\nshutdown_grace: 1s\n"
	w.writeConfig("  bandwidth_limit: 6MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	const size = 60 * MiB
	sum := w.file("VID_long.mp4", mp4Header, size, 5)
	r := w.startAgent()
	// The second file is written once the first is under way, so that it
	// waits in the queue behind it (two files ready at once go in any order).
	w.eventually(30*time.Second, "the long video is under way", func() bool {
		s, ok := r.status()
		return ok && len(s.Uploads) == 1
	})
	w.file("VID_next.mp4", mp4Header, 6*MiB, 6)
	var st statusView
	w.eventually(30*time.Second, "status shows the upload under way and one file queued", func() bool {
		s, ok := r.status()
		if !ok || len(s.Uploads) != 1 || s.Uploads[0].Percent <= 5 || s.Queue.Files == 0 {
			return false
		}
		st = statusView{s.State, s.Uploads[0].Key, s.Uploads[0].Size, s.Queue.Files, s.Queue.Bytes, len(s.Roots)}
		return true
	})
	if want := (statusView{"running", "alice/laptop/pictures/VID_long.mp4", size, 1, 6 * MiB, 1}); st != want {
		t.Errorf("status: got %+v, want %+v", st, want)
	}
	code, took := r.stop()
	if code != 0 || took > 4*time.Second {
		t.Errorf("SIGTERM: exit %d after %s, want 0 within the 1s grace (plus start-up slack)", code, took)
	}
	parts := w.journalCount(`SELECT count(*) FROM parts`)
	if parts < 1 {
		t.Fatalf("no finished part was journaled")
	}

	w.proxy.Reset()
	w.writeConfig("  concurrency: {files: 1, parts: 2}\n")
	r = w.startAgent()
	w.eventually(30*time.Second, "the video is stored", func() bool { return w.objects()["alice/laptop/pictures/VID_long.mp4"] == sum })
	if sent, most := w.proxy.Sent(), int64(size-parts*5*MiB+6*MiB+5*MiB+256<<10); sent > most {
		t.Errorf("resume sent %d bytes, want at most %d", sent, most)
	}
	r.stop()
}

type statusView struct {
	State      string
	Key        string
	Size       int64
	QueueFiles int
	QueueBytes int64
	Roots      int
}
