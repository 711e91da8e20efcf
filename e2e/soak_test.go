package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// soakCycles is how many kill -9 cycles TestSoak_KillNine runs:
// $CLOUDKEEP_SOAK_CYCLES (`make soak` sets 100), else 15.
func soakCycles(t *testing.T) int {
	s := os.Getenv("CLOUDKEEP_SOAK_CYCLES")
	if s == "" {
		return 15
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("CLOUDKEEP_SOAK_CYCLES=%q: want a positive number", s)
	}
	return n
}

// Photos and 30 MiB videos keep arriving, written slowly like a camera
// writes them, while `cloudkeep run` is killed with SIGKILL at a random
// moment and started again, cycle after cycle; then the agent is left to
// catch up. Every file is stored with its exact content, no multipart
// upload is left open, and the bytes sent stay within 10% of the data.
func TestSoak_KillNine(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "kill -9 cycle after cycle (resuming on this server: TestRun_KillWithUploadsInFlight, TestBackup_CrashResume)")
	cycles := soakCycles(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("cycles=%d seed=%d", cycles, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	w := newWorld(t)
	w.top = "settle: 1s\n"
	w.writeConfig("")
	cam := newCamera(w, seed)
	cam.start()

	start := time.Now()
	troubles := map[string]int{} // warnings and errors of every agent, by message
	r := w.startAgent()
	for range cycles {
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))) // every 3 s on average
		r.kill()
		countTroubles(r.logs.String(), troubles)
		r = w.startAgent()
	}
	cam.stop()
	r.kill()
	countTroubles(r.logs.String(), troubles)
	last := time.Now()
	r = w.startAgent()
	files := cam.files()
	for deadline := last.Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if len(w.sizes()) >= len(files) && w.incomplete() == 0 {
			break
		}
	}
	caughtUp := time.Since(last)
	r.stop()
	countTroubles(r.logs.String(), troubles)
	for msg, n := range troubles {
		t.Logf("logged %d× by the agents: %s", n, msg)
	}
	if caughtUp > 30*time.Second {
		t.Logf("the last agent's log:\n%s", r.logs)
	}

	var data int64
	missing, wrong := 0, 0
	stored := w.sizes()
	for rel, f := range files {
		data += f.size
		key := "alice/laptop/pictures/" + rel
		if _, ok := stored[key]; !ok {
			missing++
			t.Errorf("%s: not stored", rel)
		} else if got := w.contentSHA256(key); got != f.sha256 {
			wrong++
			t.Errorf("%s: stored sha256 %s, want %s", rel, got, f.sha256)
		}
	}
	orphans := w.incomplete()
	ratio := float64(w.proxy.Sent()) / float64(data)
	t.Logf("soak: cycles=%d files=%d data_bytes=%d sent_bytes=%d ratio=%.3f missing=%d wrong=%d orphans=%d caught_up=%s total=%s",
		cycles, len(files), data, w.proxy.Sent(), ratio, missing, wrong, orphans, caughtUp.Round(10*time.Millisecond), time.Since(start).Round(time.Second))
	if orphans != 0 {
		t.Errorf("%d multipart uploads left open, want 0", orphans)
	}
	if ratio > 1.10 {
		t.Errorf("sent %.3f× the data, want at most 1.10×", ratio)
	}
	if caughtUp > 30*time.Second {
		t.Errorf("caught up %s after the last restart, want within 30 s", caughtUp.Round(time.Second))
	}
}

// countTroubles adds the warnings and errors in an agent's JSON log to
// by, keyed by level, message and error.
func countTroubles(log string, by map[string]int) {
	for line := range strings.Lines(log) {
		var e struct{ Level, Message, Error string }
		if json.Unmarshal([]byte(line), &e) == nil && (e.Level == "warn" || e.Level == "error") {
			by[e.Level+" "+e.Message+": "+e.Error]++
		}
	}
}

// incomplete counts the multipart uploads open in the bucket.
func (w *world) incomplete() int {
	n := 0
	for up := range w.srv.Client.ListIncompleteUploads(context.Background(), w.srv.Bucket, "", true) {
		if up.Err != nil {
			w.t.Fatal(up.Err)
		}
		n++
	}
	return n
}

// camera writes photos (a few hundred KiB) and 30 MiB videos into the
// watched folder, each in chunks over a while, like a camera or a phone's
// sync app, until stopped.
type camera struct {
	videoEvery int // every videoEvery-th file is a video; 0: photos only
	w          *world
	rng        *rand.Rand
	jpg        []byte
	quit       chan struct{}
	done       chan struct{}
	mu         sync.Mutex
	made       map[string]cameraFile
	err        error
}

// The sizes of the camera's photos.
const (
	cameraMinPhoto = 200 << 10
	cameraMaxPhoto = 600 << 10
)

type cameraFile struct {
	size   int64
	sha256 string
}

func newCamera(w *world, seed uint64) *camera {
	return &camera{videoEvery: 6, w: w, rng: rand.New(rand.NewPCG(seed, 2)), jpg: jpegHeader(w.t),
		quit: make(chan struct{}), done: make(chan struct{}), made: map[string]cameraFile{}}
}

func (c *camera) start() { go c.run() }

// stop waits for the file being written to be complete, then stops.
func (c *camera) stop() {
	close(c.quit)
	<-c.done
	if c.err != nil {
		c.w.t.Fatal(c.err)
	}
}

// files returns every complete file by its path under the root.
func (c *camera) files() map[string]cameraFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made
}

func (c *camera) run() {
	defer close(c.done)
	for i := 0; ; i++ {
		select {
		case <-c.quit:
			return
		default:
		}
		rel := fmt.Sprintf("DCIM/%03d/IMG_%05d.jpg", i/50, i)
		header, size, chunk, pause := c.jpg, cameraMinPhoto+c.rng.Int64N(cameraMaxPhoto-cameraMinPhoto), int64(64<<10), 20*time.Millisecond
		if c.videoEvery > 0 && i%c.videoEvery == c.videoEvery-1 {
			rel = fmt.Sprintf("DCIM/%03d/VID_%05d.mp4", i/50, i)
			header, size, chunk, pause = mp4Header, 30*MiB, MiB, 100*time.Millisecond // 3 s
		}
		time.Sleep(200 * time.Millisecond)
		sum, err := c.write(rel, header, size, chunk, pause, uint64(i))
		if err != nil {
			c.err = err
			return
		}
		c.mu.Lock()
		c.made[rel] = cameraFile{size: size, sha256: sum}
		c.mu.Unlock()
	}
}

// write writes size pseudo-random bytes after header to rel, chunk by
// chunk with a pause after each, and returns their hex SHA-256.
func (c *camera) write(rel string, header []byte, size, chunk int64, pause time.Duration, seed uint64) (string, error) {
	path := filepath.Join(c.w.photos, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var s [32]byte
	s[0], s[1], s[2] = byte(seed), byte(seed>>8), 0xca
	body := io.LimitReader(io.MultiReader(bytes.NewReader(header), rand.NewChaCha8(s)), size)
	h := sha256.New()
	for {
		n, err := io.CopyN(io.MultiWriter(f, h), body, chunk)
		if err == io.EOF || n < chunk {
			break
		}
		if err != nil {
			return "", err
		}
		time.Sleep(pause)
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}
