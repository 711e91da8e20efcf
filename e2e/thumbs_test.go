package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	if n := thumbPuts(w.proxy); n != 3 {
		t.Errorf("%d thumbnails sent, want 3: the copy shares its original's", n)
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
	if n := w.journalCount(`SELECT count(*) FROM thumbs`); n != 3 {
		t.Errorf("journal: %d thumbnails, want 3", n)
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
