package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The S3 server killed with SIGKILL and started again on the same port and
// data five times while a 300 MiB video and a stream of photos upload:
// everything is stored with its content, and nothing finished is sent
// again: at most the parts and photos in flight at each kill.
func TestFault_S3KilledFiveTimes(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	const (
		kills    = 5
		partSize = 5 * MiB
		parts    = 4 // concurrency.parts
		files    = 4 // concurrency.files
	)
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig(fmt.Sprintf("  bandwidth_limit: 30MiB/s\n  concurrency: {files: %d, parts: %d}\n", files, parts))
	big := w.file("VID_BIG.mp4", mp4Header, 300*MiB, 300)
	cam := newCamera(w, 42)
	cam.videoEvery = 0
	start := time.Now()
	cam.start()
	r := w.startAgent()

	for i := 1; i <= kills; i++ {
		w.eventually(2*time.Minute, fmt.Sprintf("%d/%d of the video is stored", i, kills+1), func() bool {
			return w.journalCount(`SELECT count(*) FROM parts`) >= i*60/(kills+1)
		})
		w.srv.Kill()
		down := time.Now()
		w.eventually(30*time.Second, "the agent has met the dead server", func() bool {
			st, ok := r.status()
			return ok && !st.Storage.Reachable
		})
		w.srv.Restart(t)
		partsBefore := w.journalCount(`SELECT count(*) FROM parts`)
		up := time.Now()
		w.eventually(time.Minute, "a part is stored after the restart", func() bool {
			return w.journalCount(`SELECT count(*) FROM parts`) > partsBefore ||
				w.journalCount(`SELECT count(*) FROM files WHERE path = 'VID_BIG.mp4' AND state = 'done'`) == 1
		})
		t.Logf("kill %d: down %s, first part stored %s after the restart", i, up.Sub(down).Round(10*time.Millisecond), time.Since(up).Round(10*time.Millisecond))
	}
	cam.stop()
	photos := cam.files()
	w.eventually(3*time.Minute, "the video and every photo are stored", func() bool {
		return len(w.sizes()) == len(photos)+1 && w.incomplete() == 0
	})
	t.Logf("%d kills: 300 MiB and %d photos stored in %s", kills, len(photos), time.Since(start).Round(100*time.Millisecond))
	r.stop()

	if got := w.contentSHA256("alice/laptop/pictures/VID_BIG.mp4"); got != big {
		t.Errorf("VID_BIG.mp4: stored sha256 %s, want %s", got, big)
	}
	data := int64(300 * MiB)
	for rel, f := range photos {
		data += f.size
		if got := w.contentSHA256("alice/laptop/pictures/" + rel); got != f.sha256 {
			t.Errorf("%s: stored sha256 %s, want %s", rel, got, f.sha256)
		}
	}
	// Each kill may cost the parts in flight and the photos being sent.
	most := data + kills*(parts*partSize+files*cameraMaxPhoto) + MiB
	t.Logf("sent %d bytes for %d bytes of data (%.3f×); at most %d allowed", w.proxy.Sent(), data, float64(w.proxy.Sent())/float64(data), most)
	if sent := w.proxy.Sent(); sent > most {
		t.Errorf("sent %d bytes, want at most %d (the data, plus what was in flight at each kill)", sent, most)
	}
}

// The network between the agent and the storage swallows every packet for
// 30 s in the middle of a part, then resets the connections: the request
// times out (storage.request_timeout), `status` shows the storage
// unreachable while it lasts, and the upload goes on and completes once
// the network is back, without sending again what was stored.
func TestFault_NetworkBlackHole(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "a storage that does not answer")
	const (
		size     = 60 * MiB
		partSize = 5 * MiB
		parts    = 4
	)
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  bandwidth_limit: 20MiB/s\n  request_timeout: 3s\n")
	sum := w.file("VID_CUT.mp4", mp4Header, size, 60)
	r := w.startAgent()
	w.eventually(time.Minute, "two parts are stored and more are on their way", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 2 && w.proxy.Sent() > 2*partSize+MiB
	})

	w.proxy.BlackHole()
	cut := time.Now()
	w.eventually(30*time.Second, "status shows the storage unreachable", func() bool {
		st, ok := r.status()
		return ok && !st.Storage.Reachable && st.Storage.LastError != ""
	})
	seen := time.Since(cut)
	st, _ := r.status()
	t.Logf("status %s after the cut: reachable=%v since=%s last_error=%q", seen.Round(10*time.Millisecond),
		st.Storage.Reachable, st.Storage.Since.Format(time.RFC3339), st.Storage.LastError)
	time.Sleep(time.Until(cut.Add(30 * time.Second)))
	if st, ok := r.status(); !ok || st.Storage.Reachable {
		t.Errorf("30 s into the cut, status says the storage is reachable: %+v", st.Storage)
	}
	if st, _ := r.status(); st.Totals.Failed != 0 || st.Totals.Uploaded != 0 {
		t.Errorf("during the cut: %d failed, %d uploaded; want 0 and 0", st.Totals.Failed, st.Totals.Uploaded)
	}

	w.proxy.EndBlackHole()
	back := time.Now()
	w.eventually(2*time.Minute, "the video is stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 1
	})
	t.Logf("stored %s after the network came back", time.Since(back).Round(10*time.Millisecond))
	if st, _ := r.status(); !st.Storage.Reachable {
		t.Errorf("after the upload, status says the storage is unreachable: %+v", st.Storage)
	}
	r.stop()
	if got := w.contentSHA256("alice/laptop/pictures/VID_CUT.mp4"); got != sum {
		t.Errorf("stored sha256 %s, want %s", got, sum)
	}
	w.assertNoIncomplete()
	if sent, most := w.proxy.Sent(), int64(size+parts*partSize+MiB); sent > most {
		t.Errorf("sent %d bytes, want at most %d (the file, plus the parts in flight at the cut)", sent, most)
	}
}

// A file replaced while it uploads by a new file renamed over it (as
// editors and phone sync apps save): the bucket ends up with the final
// content.
func TestFault_FileReplacedByRename(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	w.file("VID_EDIT.mp4", mp4Header, 30*MiB, 1)
	r := w.startAgent()
	w.eventually(time.Minute, "the first part is stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 1
	})
	final := w.file(".VID_EDIT.mp4.tmp", mp4Header, 30*MiB, 2) // same size, new content
	if err := os.Rename(filepath.Join(w.photos, ".VID_EDIT.mp4.tmp"), filepath.Join(w.photos, "VID_EDIT.mp4")); err != nil {
		t.Fatal(err)
	}
	key := "alice/laptop/pictures/VID_EDIT.mp4"
	w.eventually(time.Minute, "the final content is stored", func() bool {
		return w.objects()[key] == final && w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 1
	})
	r.stop()
	if got := w.contentSHA256(key); got != final {
		t.Errorf("stored sha256 %s, want the final content's %s", got, final)
	}
	if got := w.sizes(); len(got) != 1 {
		t.Errorf("objects %v, want only %s", keys(w.objects()), key)
	}
	w.assertNoIncomplete()
}

// The agent killed and started again while a camera is still writing a
// video the agent had already met: the video is uploaded once it is
// complete, within the settle time, and not first as a growing file that
// fails, waits out a retry delay and is sent again.
func TestFault_RestartWhileFileIsWritten(t *testing.T) {
	const size = 30 * MiB
	w := newWorld(t)
	w.top = "settle: 1s\n"
	w.writeConfig("")
	cam := newCamera(w, 7)
	type done struct {
		sum string
		at  time.Time
	}
	written := make(chan done, 1)
	go func() {
		sum, err := cam.write("VID_SLOW.mp4", mp4Header, size, MiB, 250*time.Millisecond, 7) // 7.5 s
		if err != nil {
			t.Error(err)
		}
		written <- done{sum, time.Now()}
	}()
	r := w.startAgent()
	w.eventually(10*time.Second, "the agent has met the growing video", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE path = 'VID_SLOW.mp4'`) == 1
	})
	r.kill()
	r = w.startAgent()
	if len(written) > 0 {
		t.Fatal("the video was complete before the agent started again")
	}
	last := <-written
	sum, complete := last.sum, last.at
	w.eventually(time.Minute, "the video is stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == 1
	})
	took := time.Since(complete)
	t.Logf("stored %s after the video was complete", took.Round(10*time.Millisecond))
	st, _ := r.status()
	r.stop()
	if took > 10*time.Second {
		t.Errorf("stored %s after the video was complete, want within 10 s (settle 1 s)", took.Round(100*time.Millisecond))
	}
	if st.Totals.Failed != 0 {
		t.Errorf("%d failed uploads counted, want 0 (the video was still being written)", st.Totals.Failed)
	}
	if got := w.contentSHA256("alice/laptop/pictures/VID_SLOW.mp4"); got != sum {
		t.Errorf("stored sha256 %s, want %s", got, sum)
	}
	if sent, most := w.proxy.Sent(), int64(size+MiB); sent > most {
		t.Errorf("sent %d bytes, want at most %d: the video once, complete", sent, most)
	}
	w.assertNoIncomplete()
}
