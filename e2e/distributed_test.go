package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// A distributed, erasure-coded MinIO of 4 nodes × 2 drives behind a load
// balancer; one node SIGKILLed while a 300 MiB video and a stream of
// photos upload, after some parts are stored: everything is stored, and
// restored byte for byte while the node is still down. The node started
// again heals the shards it missed while the agent stores new photos,
// without an error in the agent's status.
func TestDistributed_NodeKilledMidUpload(t *testing.T) {
	if onVersitygw() {
		t.Skip("a distributed, erasure-coded deployment is MinIO's: run on MinIO")
	}
	const (
		photos = 200
		later  = 50 // photos written while the node heals
		victim = 2  // the node killed
	)
	c := miniotest.StartDistributed(t, 4, 2)
	w := newWorldOn(t, &miniotest.Server{Endpoint: c.Endpoint(), AccessKey: c.AccessKey, SecretKey: c.SecretKey, Bucket: c.Bucket, Client: c.Client}, "")
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	w.top = "settle: 200ms\nmetrics:\n  listen: " + web + "\n"
	w.writeConfig("")
	want := map[string]string{"VID_BIG.mp4": w.file("VID_BIG.mp4", mp4Header, 300*MiB, 300)}
	start := time.Now()
	stream := newPhotoStream(w, "DCIM/100", 1, photos, 50*time.Millisecond)
	r := w.startAgent()

	w.eventually(time.Minute, "10 parts of the video and 5 photos are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 10 && len(w.sizes()) >= 5
	})
	c.Kill(victim)
	killed := time.Now()
	before := w.journalCount(`SELECT count(*) FROM parts`)
	if w.journalCount(`SELECT count(*) FROM files WHERE path = 'VID_BIG.mp4' AND state = 'done'`) == 1 {
		t.Fatal("the video was stored before the node was killed")
	}
	w.eventually(time.Minute, "a part is stored after the kill", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) > before ||
			w.journalCount(`SELECT count(*) FROM files WHERE path = 'VID_BIG.mp4' AND state = 'done'`) == 1
	})
	t.Logf("node %d killed with %d of 60 parts stored; the next part stored %s later", victim, before, time.Since(killed).Round(10*time.Millisecond))
	for rel, sum := range stream.wait(t) {
		want[rel] = sum
	}
	// A request that was on its way through the killed node can leave a
	// lock on the surviving ones, which MinIO lets expire after 1 to 2
	// minutes: a request for that object waits for it.
	w.eventually(4*time.Minute, "the video and every photo are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == len(want) &&
			len(w.sizes()) == len(want) && w.incomplete() == 0
	})
	t.Logf("300 MiB and %d photos stored in %s", photos, time.Since(start).Round(100*time.Millisecond))
	w.assertStored(want)
	st, _ := r.status()
	w.assertClean(st, len(want))
	if ratio := w.reportResends(r, web); ratio > 1.10 {
		t.Errorf("sent %.3f× the data, want at most 1.10× (what was in flight at the kill, sent again)", ratio)
	}

	dest := filepath.Join(w.dir, "restored")
	began := time.Now()
	res := w.run("restore", dest)
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("restored %d file(s)", len(want))) {
		t.Fatalf("restore with node %d down: %d %s %s", victim, res.code, res.stdout, res.stderr)
	}
	t.Logf("restored %d files (300 MiB and the photos) with node %d down in %s", len(want), victim, time.Since(began).Round(100*time.Millisecond))
	for rel, sum := range want {
		if got := w.fileSHA256(filepath.Join(dest, "laptop", "pictures", rel)); got != sum {
			t.Errorf("restored %s: sha256 %s, want %s", rel, got, sum)
		}
	}

	missed, _ := c.Shards(victim)
	began = time.Now()
	c.Restart(t, victim)
	t.Logf("node %d back and taking writes %s after its restart; it missed %d of %d objects", victim, time.Since(began).Round(10*time.Millisecond), len(want)-missed/2, len(want))
	stream = newPhotoStream(w, "DCIM/101", 2, later, 200*time.Millisecond)
	w.assertStored(want) // reads every object: MinIO heals the shards a read finds missing
	for rel, sum := range stream.wait(t) {
		want[rel] = sum
	}
	w.eventually(time.Minute, "the photos written during healing are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`) == len(want)
	})
	// MinIO heals on its own, paced: what a read finds missing (through
	// its MRF queue) and what its background scanner meets. It is watched
	// here, not waited for.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if n, _ := c.Shards(victim); n == 2*len(want) {
			break
		}
	}
	n, size := c.Shards(victim)
	t.Logf("node %d holds %d of the %d shards (%d at its restart, %d MiB on its drives) %s after its restart, while %d new photos were stored",
		victim, n, 2*len(want), missed, size/MiB, time.Since(began).Round(100*time.Millisecond), later)
	st, _ = r.status()
	w.assertClean(st, len(want))
	r.stop()
	w.assertStored(want)
}

// assertStored reads every object back and compares its bytes' SHA-256
// with the file's, by path under the root.
func (w *world) assertStored(want map[string]string) {
	w.t.Helper()
	for rel, sum := range want {
		if got := w.contentSHA256("alice/laptop/pictures/" + rel); got != sum {
			w.t.Errorf("stored %s: sha256 %s, want %s", rel, got, sum)
		}
	}
}

// assertClean checks that status counts stored files uploaded (or found
// stored: a request that got no answer may have been carried out), none
// failed, and shows no error and a reachable storage.
func (w *world) assertClean(st agent.Status, stored int) {
	w.t.Helper()
	done := st.Totals.Uploaded + st.Totals.AlreadyStored
	if done != stored || st.Totals.Failed != 0 || len(st.Errors) != 0 || !st.Storage.Reachable {
		w.t.Errorf("status: %d uploaded, %d already stored, %d failed, errors %v, storage %+v; want %d stored, none failed, no error, reachable",
			st.Totals.Uploaded, st.Totals.AlreadyStored, st.Totals.Failed, st.Errors, st.Storage, stored)
	}
}

// reportResends logs what the agent did again because of the kill: the
// requests retried, the parts and photos sent more than once, the
// warnings logged, and the bytes sent for the data; it returns their
// ratio.
func (w *world) reportResends(r *running, web string) float64 {
	w.t.Helper()
	sent := map[string]int{}
	for _, req := range w.proxy.Requests() {
		if req.Method != "PUT" {
			continue
		}
		u, err := url.Parse(req.Target)
		if err != nil {
			w.t.Fatal(err)
		}
		sent[u.Path+" "+u.Query().Get("partNumber")]++
	}
	var again []string
	for what, n := range sent {
		if n > 1 {
			again = append(again, fmt.Sprintf("%s ×%d", what, n))
		}
	}
	var data int64
	for _, size := range w.sizes() {
		data += size
	}
	troubles := map[string]int{}
	countTroubles(r.logs.String(), troubles)
	ratio := float64(w.proxy.Sent()) / float64(data)
	w.t.Logf("retried requests %s; sent again: %v; warnings %v; sent %d bytes for %d (%.3f×)",
		metric(get(w.t, "http://"+web+"/metrics"), "cloudkeep_requests_retried_total"), again, troubles, w.proxy.Sent(), data, ratio)
	return ratio
}

// photoStream writes n photos of a few hundred KiB into a folder under
// the root, one every pause, like a camera's sync app; streams with
// different seeds write different photos.
type photoStream struct {
	done chan struct{}
	mu   sync.Mutex
	made map[string]string // sha256 by path under the root
	err  error
}

func newPhotoStream(w *world, dir string, seed uint64, n int, pause time.Duration) *photoStream {
	s := &photoStream{done: make(chan struct{}), made: map[string]string{}}
	cam := newCamera(w, seed)
	go func() {
		defer close(s.done)
		for i := range n {
			rel := fmt.Sprintf("%s/IMG_%05d.jpg", dir, i)
			size := cameraMinPhoto + cam.rng.Int64N(cameraMaxPhoto-cameraMinPhoto)
			sum, err := cam.write(rel, cam.jpg, size, size, 0, seed<<16+uint64(i))
			s.mu.Lock()
			s.made[rel], s.err = sum, err
			s.mu.Unlock()
			if err != nil {
				return
			}
			time.Sleep(pause)
		}
	}()
	return s
}

// wait waits until every photo is written and returns their SHA-256 by
// path under the root.
func (s *photoStream) wait(t *testing.T) map[string]string {
	t.Helper()
	<-s.done
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.made
}
