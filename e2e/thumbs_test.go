package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// thumbnail reads the thumbnail stored under key and returns its size and
// the quadrant of mediatest's pattern that is red.
func (w *world) thumbnail(key string) (image.Point, string) {
	w.t.Helper()
	obj, err := w.srv.Client.GetObject(context.Background(), w.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		w.t.Fatalf("%s: %v", key, err)
	}
	if info.ContentType != "image/jpeg" {
		w.t.Errorf("%s: content type %q, want image/jpeg", key, info.ContentType)
	}
	img, err := jpeg.Decode(obj)
	if err != nil {
		w.t.Fatalf("%s: %v", key, err)
	}
	b := img.Bounds()
	red := ""
	for _, q := range []struct {
		name string
		x, y int
	}{{"top-left", 1, 1}, {"top-right", 3, 1}, {"bottom-left", 1, 3}, {"bottom-right", 3, 3}} {
		if r, g, _, _ := img.At(b.Dx()*q.x/4, b.Dy()*q.y/4).RGBA(); r>>8 > 200 && g>>8 < 60 {
			red += q.name
		}
	}
	return b.Size(), red
}

// thumbKeys returns the keys of the thumbnails in the bucket.
func (w *world) thumbKeys() []string {
	w.t.Helper()
	var out []string
	for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		if strings.Contains("/"+o.Key, "/.thumbs/") {
			out = append(out, o.Key)
		}
	}
	return out
}

// thumbPuts counts the PUTs of thumbnails the proxy forwarded.
func thumbPuts(p *miniotest.Proxy) int { return thumbRequests(p, http.MethodPut) }

// thumbRequests counts the requests of method for thumbnails the proxy
// forwarded.
func thumbRequests(p *miniotest.Proxy, method string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Method == method && strings.Contains(r.Target, "/.thumbs/") {
			n++
		}
	}
	return n
}

// `cloudkeep backup` stores a thumbnail of each photo under
// <user>/.thumbs/<sha256>.jpg: turned as the JPEG's EXIF orientation says,
// from a PNG, from a DNG's embedded preview; one for two files of the
// same content; none for a corrupt photo, whose original is stored all
// the same and which is logged once; none for a video.
func TestThumbnails_Backup(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	when := time.Date(2024, 1, 31, 14, 5, 0, 0, time.UTC)
	jpg := mediatest.JPEG(t, 1200, 800, mediatest.EXIF{Orientation: 6, DateTimeOriginal: "2024:01:31 14:05:00"})
	png := mediatest.PNG(t, 1000, 500)
	dng := mediatest.DNG(t, mediatest.EXIF{Orientation: 3, Make: "Test", Model: "Camera"}, 640, 480)
	good := mediatest.JPEG(t, 640, 480, mediatest.EXIF{})
	broken := good[:len(good)/2]
	for name, b := range map[string][]byte{
		"IMG_0001.jpg": jpg, "copies/IMG_0001.jpg": jpg, "shot.png": png, "RAW_0002.dng": dng,
		"broken.jpg": broken, "clip.mp4": mediatest.MP4(t, when),
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(w.photos, name)), 0o777)
		mediatest.Write(t, filepath.Join(w.photos, name), b, when)
	}

	res := w.run("backup", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("backup exited %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	for _, c := range []struct {
		name string
		b    []byte
		size image.Point
		red  string
	}{
		{"IMG_0001.jpg", jpg, image.Pt(213, 320), "top-right"}, // 320×213 turned a quarter clockwise
		{"shot.png", png, image.Pt(320, 160), "top-left"},
		{"RAW_0002.dng", dng, image.Pt(320, 240), "bottom-right"}, // the 640×480 preview, upside down
	} {
		size, red := w.thumbnail("alice/.thumbs/" + sha256Hex(c.b) + ".jpg")
		if size != c.size || red != c.red {
			t.Errorf("%s: thumbnail %v with red %s, want %v with red %s", c.name, size, red, c.size, c.red)
		}
	}
	objs := w.objects()
	if objs["alice/laptop/pictures/broken.jpg"] != sha256Hex(broken) || objs["alice/laptop/pictures/clip.mp4"] == "" {
		t.Errorf("broken.jpg or clip.mp4 not stored: %v", keys(objs))
	}
	if thumbs := w.thumbKeys(); len(thumbs) != 3 {
		t.Errorf("thumbnails %v, want 3 (jpg, png, dng)", thumbs)
	}
	if n, heads := thumbPuts(w.proxy), thumbRequests(w.proxy, http.MethodHead); n != 3 || heads != 0 {
		t.Errorf("%d thumbnails sent and %d looked for, want 3 and none: the copy shares its original's, new photos have none stored", n, heads)
	}
	if !strings.Contains(res.stdout, "3 thumbnails made, 1 failed") {
		t.Errorf("stdout %q, want the thumbnails counted", res.stdout)
	}
	var warns []string
	for _, line := range strings.Split(res.stderr, "\n") {
		if strings.Contains(line, `"level":"warn"`) {
			warns = append(warns, line)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "broken.jpg") || !strings.Contains(warns[0], "no thumbnail for this photo") {
		t.Errorf("warnings %q, want one about broken.jpg", warns)
	}
	if n, failed := w.journalCount(`SELECT count(*) FROM thumbs WHERE key != ''`), w.journalCount(`SELECT count(*) FROM thumbs WHERE error != ''`); n != 3 || failed != 1 {
		t.Errorf("journal: %d thumbnails and %d failures, want 3 and 1", n, failed)
	}

	// A new copy of a photo already thumbnailed, on the next run: nothing
	// sent for its thumbnail, the stored one untouched.
	before, err := w.srv.Client.StatObject(context.Background(), w.srv.Bucket, "alice/.thumbs/"+sha256Hex(png)+".jpg", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Write(t, filepath.Join(w.photos, "shot again.png"), png, when)
	w.proxy.Reset()
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("second backup exited %d: %s", res.code, res.stderr)
	}
	after, err := w.srv.Client.StatObject(context.Background(), w.srv.Bucket, "alice/.thumbs/"+sha256Hex(png)+".jpg", minio.StatObjectOptions{})
	if err != nil || !after.LastModified.Equal(before.LastModified) || thumbPuts(w.proxy) != 0 || thumbRequests(w.proxy, http.MethodHead) != 0 {
		t.Errorf("the second run touched the thumbnail: %v %v, %d PUTs, %d HEADs", after.LastModified, err, thumbPuts(w.proxy), thumbRequests(w.proxy, http.MethodHead))
	}
}

// With media.thumbnails false no thumbnail is made.
func TestThumbnails_Off(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "media:\n  thumbnails: false\n"
	w.writeConfig("")
	mediatest.Write(t, filepath.Join(w.photos, "IMG_0001.jpg"), mediatest.JPEG(t, 640, 480, mediatest.EXIF{}), time.Time{})
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup exited %d: %s", res.code, res.stderr)
	}
	if objs, thumbs := w.objects(), w.thumbKeys(); len(objs) != 1 || len(thumbs) != 0 {
		t.Errorf("bucket holds %v and thumbnails %v, want the photo alone", keys(objs), thumbs)
	}
}

// The agent makes the thumbnail of a photo that appears while it runs,
// after the journal was lost it asks the storage instead of sending it
// again, and it stops promptly.
func TestThumbnails_Agent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.startAgent()
	jpg := mediatest.JPEG(t, 900, 600, mediatest.EXIF{Orientation: 8})
	mediatest.Write(t, filepath.Join(w.photos, "IMG_0003.jpg"), jpg, time.Time{})
	key := "alice/.thumbs/" + sha256Hex(jpg) + ".jpg"
	w.eventually(20*time.Second, "the thumbnail is stored", func() bool { return slices.Contains(w.thumbKeys(), key) })
	if size, red := w.thumbnail(key); size != image.Pt(213, 320) || red != "bottom-left" {
		t.Errorf("thumbnail %v with red %s, want 213×320 with red bottom-left (a quarter turn anticlockwise)", size, red)
	}
	if code, took := r.stop(); code != 0 || took > 10*time.Second {
		t.Errorf("stop: exit %d after %s", code, took)
	}

	// The journal is lost: the photo is found stored, its thumbnail too.
	if err := os.Remove(filepath.Join(w.state, "journal.db")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(w.state, "journal.db-wal"))
	os.Remove(filepath.Join(w.state, "journal.db-shm"))
	w.proxy.Reset()
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup exited %d: %s", res.code, res.stderr)
	}
	if n := thumbPuts(w.proxy); n != 0 {
		t.Errorf("%d thumbnails sent again after the journal was lost, want 0", n)
	}
	if n := w.journalCount(`SELECT count(*) FROM thumbs`); n != 1 {
		t.Errorf("journal: %d thumbnails, want 1 (found stored)", n)
	}
}

// In account mode the thumbnail goes under the account's folder, through
// the account service's grants.
func TestThumbnails_AccountMode(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	alice := s.signup("alice@example.com", "alice-pass-1")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "alice@example.com", "alice-pass-1", "alice@example.com")
	png := mediatest.PNG(t, 400, 300)
	mediatest.Write(t, filepath.Join(w.photos, "shot.png"), png, time.Time{})
	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("backup exited %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if size, red := w.thumbnail(alice + "/.thumbs/" + sha256Hex(png) + ".jpg"); size != image.Pt(320, 240) || red != "top-left" {
		t.Errorf("thumbnail %v with red %s, want 320×240 with red top-left", size, red)
	}
}

// Photos stored while thumbnails were off get theirs from the next backup
// (one PUT each, no HEAD: the journal knows they were sent, not found),
// and from the agent once it runs.
func TestThumbnails_Backfill(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	off := func(off bool) {
		w.top = ""
		if off {
			w.top = "media:\n  thumbnails: false\n"
		}
		w.writeConfig("")
	}
	off(true)
	jpg, png := mediatest.JPEG(t, 640, 480, mediatest.EXIF{}), mediatest.PNG(t, 400, 300)
	mediatest.Write(t, filepath.Join(w.photos, "IMG_0001.jpg"), jpg, time.Time{})
	mediatest.Write(t, filepath.Join(w.photos, "shot.png"), png, time.Time{})
	if res := w.run("backup"); res.code != 0 || len(w.thumbKeys()) != 0 {
		t.Fatalf("backup with thumbnails off: exit %d, thumbnails %v\n%s", res.code, w.thumbKeys(), res.stderr)
	}

	off(false)
	w.proxy.Reset()
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 0 file(s)") || !strings.Contains(res.stdout, "2 thumbnails made, 0 failed") {
		t.Fatalf("backup with thumbnails on: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	want := []string{"alice/.thumbs/" + sha256Hex(jpg) + ".jpg", "alice/.thumbs/" + sha256Hex(png) + ".jpg"}
	if got := w.thumbKeys(); !sameSet(got, want) {
		t.Errorf("thumbnails %v, want %v", got, want)
	}
	if puts, heads := thumbPuts(w.proxy), thumbRequests(w.proxy, http.MethodHead); puts != 2 || heads != 0 {
		t.Errorf("%d PUTs and %d HEADs of thumbnails, want 2 and 0", puts, heads)
	}

	off(true)
	later := mediatest.JPEG(t, 800, 600, mediatest.EXIF{})
	mediatest.Write(t, filepath.Join(w.photos, "IMG_0002.jpg"), later, time.Time{})
	if res := w.run("backup"); res.code != 0 || len(w.thumbKeys()) != 2 {
		t.Fatalf("backup with thumbnails off: exit %d, thumbnails %v\n%s", res.code, w.thumbKeys(), res.stderr)
	}
	off(false)
	r := w.startAgent()
	key := "alice/.thumbs/" + sha256Hex(later) + ".jpg"
	w.eventually(20*time.Second, "the agent makes the missing thumbnail", func() bool { return slices.Contains(w.thumbKeys(), key) })
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exited %d", code)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A photo no thumbnail can be made of is tried once per content: neither
// the next backup nor the agent's start decodes it again or warns.
func TestThumbnails_CorruptTriedOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	good := mediatest.JPEG(t, 640, 480, mediatest.EXIF{})
	mediatest.Write(t, filepath.Join(w.photos, "broken.jpg"), good[:len(good)/2], time.Time{})
	res := w.run("backup", "--log-format", "json")
	if res.code != 0 || !strings.Contains(res.stdout, "0 thumbnails made, 1 failed") || strings.Count(res.stderr, "no thumbnail for this photo") != 1 {
		t.Fatalf("first backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	res = w.run("backup", "--log-format", "json")
	if res.code != 0 || strings.Contains(res.stdout, "thumbnails") || strings.Contains(res.stderr, "broken.jpg") {
		t.Errorf("second backup tried the thumbnail again: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}

	r := w.startAgent()
	mediatest.Write(t, filepath.Join(w.photos, "IMG_0002.jpg"), good, time.Time{})
	key := "alice/.thumbs/" + sha256Hex(good) + ".jpg"
	w.eventually(20*time.Second, "the new photo's thumbnail", func() bool { return slices.Contains(w.thumbKeys(), key) })
	r.stop()
	if strings.Contains(r.logs.String(), "no thumbnail for this photo") {
		t.Errorf("the agent tried the corrupt photo again:\n%s", r.logs)
	}
	if n := w.journalCount(`SELECT count(*) FROM thumbs WHERE key = '' AND error LIKE '%broken.jpg%'`); n != 1 {
		t.Errorf("journal: %d failures recorded, want 1", n)
	}
}

// Ctrl-C while the thumbnails are made stops them promptly and ends the
// backup as a success: the files are stored. The next backup makes the
// rest.
func TestThumbnails_InterruptedBackup(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 24
	big := mediatest.JPEG(t, 2400, 1600, mediatest.EXIF{})
	for i := range n { // distinct contents: bytes after the end of the image
		b := append(slices.Clone(big), fmt.Sprintf("%04d", i)...)
		mediatest.Write(t, filepath.Join(w.photos, fmt.Sprintf("IMG_%04d.jpg", i)), b, time.Time{})
	}
	cmd := w.command("backup", "--log-format", "json")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(60*time.Second, "the thumbnails begin", func() bool { return strings.Contains(stderr.String(), "making thumbnails") })
	cmd.Process.Signal(os.Interrupt)
	signaled := time.Now()
	err := cmd.Wait()
	took := time.Since(signaled)
	if err != nil || took > 10*time.Second {
		t.Fatalf("interrupted backup: %v after %s\nstdout: %s\nstderr: %s", err, took, stdout.String(), stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "backed up 24 file(s)") || !strings.Contains(out, "left (interrupted): made by `cloudkeep run` or the next backup") {
		t.Errorf("stdout %q, want the files backed up and the thumbnails interrupted", out)
	}
	made := w.journalCount(`SELECT count(*) FROM thumbs WHERE key != ''`)
	if made >= n {
		t.Fatalf("%d thumbnails made: the interrupt came too late to test", made)
	}
	t.Logf("stopped %s after the interrupt, %d of %d thumbnails made", took.Round(time.Millisecond), made, n)
	if objs := w.objects(); len(objs) != n+len(w.thumbKeys()) {
		t.Errorf("%d objects, want the %d photos and their thumbnails", len(objs), n)
	}

	res := w.run("backup")
	want := fmt.Sprintf("%d thumbnails made, 0 failed", n-made)
	if n-made == 1 {
		want = "1 thumbnail made, 0 failed"
	}
	if res.code != 0 || !strings.Contains(res.stdout, want) {
		t.Errorf("next backup: exit %d, stdout %q, want %q", res.code, res.stdout, want)
	}
	if got := len(w.thumbKeys()); got != n {
		t.Errorf("%d thumbnails stored, want %d", got, n)
	}
}
