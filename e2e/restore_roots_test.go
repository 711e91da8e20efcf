package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// stamp is what tells that an object was written again: its ETag and time.
type stamp struct {
	etag string
	at   time.Time
}

// stamps returns every object of the bucket with its stamp.
func (w *world) stamps() map[string]stamp {
	w.t.Helper()
	out := map[string]stamp{}
	for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		if strings.Contains("/"+o.Key, "/.cloudkeep/") {
			continue // the manifest, written again by each backup
		}
		out[o.Key] = stamp{o.ETag, o.LastModified}
	}
	return out
}

// photoSet writes n photos below w.photos (in folders, with old mtimes)
// and a 12 MiB video that goes multipart; it returns rel → sha256.
func (w *world) photoSet(n int) map[string]string {
	w.t.Helper()
	jpg := jpegHeader(w.t)
	want := map[string]string{}
	for i := range n {
		rel := fmt.Sprintf("%d/IMG_%03d.jpg", 2020+i%3, i)
		want[rel] = w.file(rel, jpg, int64(20000+i*997), uint64(100+i))
		mt := time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		os.Chtimes(filepath.Join(w.photos, rel), mt, mt)
	}
	want["50% off/clip.mp4"] = w.file("50% off/clip.mp4", mp4Header, 12*MiB, 9)
	return want
}

// wipe empties a folder, keeping the folder itself.
func wipe(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// settled writes one more photo and waits until the agent stored it: the
// agent has then dealt with what happened before (each path settles after
// the same quiet period). It returns the photo's size.
func (r *running) settled(rel string) int64 {
	w := r.w
	w.t.Helper()
	sum := w.file(rel, jpegHeader(w.t), 3000, 77)
	key := "alice/laptop/pictures/" + rel
	w.eventually(30*time.Second, rel+" is stored", func() bool { return w.objects()[key] == sum })
	w.eventually(10*time.Second, "the queue is empty", func() bool {
		s, ok := r.status()
		return ok && s.Queue.Files == 0 && len(s.Uploads) == 0
	})
	return 3000
}

// Back up, lose the folder, put it back with `restore --to-roots` while the
// agent runs: the files are back byte for byte with their mtimes, and the
// agent sends nothing and writes no object again.
func TestRestore_ToRootsWhileAgentRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	want := w.photoSet(30)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	mtimes := map[string]time.Time{}
	for rel := range want {
		fi, _ := os.Stat(filepath.Join(w.photos, rel))
		mtimes[rel] = fi.ModTime()
	}
	before := w.stamps()
	wipe(t, w.photos)
	r := w.startAgent()
	w.eventually(10*time.Second, "the agent saw the files go", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE state = 'deleted'`) == len(want)
	})

	w.proxy.Reset()
	// The agent saw the files go: the device's state holds none of them
	// now, so the whole of what was stored is asked for (--all).
	res := w.run("restore", "--to-roots", "--all")
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("restored %d file(s)", len(want))) {
		t.Fatalf("restore --to-roots: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range want {
		path := filepath.Join(w.photos, rel)
		if got := w.fileSHA256(path); got != sum {
			t.Errorf("%s: sha256 %s, want %s", rel, got, sum)
		}
		if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(mtimes[rel]) {
			t.Errorf("%s: mtime %v, want %v", rel, fi.ModTime(), mtimes[rel])
		}
	}
	if entries, _ := os.ReadDir(w.photos); len(entries) != 4 {
		t.Errorf("%d entries at the root, want the 4 folders back in place (not nested below the device)", len(entries))
	}
	sentinel := r.settled("after.jpg")
	s, _ := r.status()
	if s.Totals.Uploaded != 1 || s.Totals.Copied != 0 || s.Totals.AlreadyStored != 0 || s.Totals.Failed != 0 {
		t.Errorf("agent totals: %+v, want only the new photo uploaded (the restored files done as they are)", s.Totals)
	}
	sent := w.proxy.Sent()
	t.Logf("restore --to-roots of %d files with the agent running: %d bytes sent to the storage (%d of them the new photo)", len(want), sent, sentinel)
	if sent > sentinel+256<<10 {
		t.Errorf("%d bytes sent to the storage, want requests only (the restored files are over 12 MiB)", sent)
	}
	after := w.stamps()
	for key, st := range before {
		if after[key] != st {
			t.Errorf("%s was written again: %+v, was %+v", key, after[key], st)
		}
	}
	if len(after) != len(before)+1 {
		t.Errorf("%d objects, want %d: %v", len(after), len(before)+1, keys(w.objects()))
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`); n != len(want)+1 {
		t.Errorf("%d done rows, want %d", n, len(want)+1)
	}
	// A second run finds everything in place.
	res = w.run("restore", "--to-roots", "--all")
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("%d already in place", len(want)+1)) {
		t.Errorf("second restore --to-roots: %d %q", res.code, res.stdout)
	}
	r.stop()
}

// The README's new laptop: a fresh journal, `restore ~/Pictures` into the
// folder the agent watches. The files land below <device>/<root>/, new
// keys for the agent, which stores them by server-side copies of the
// objects they came from: no byte is sent.
func TestRestore_IntoWatchedFolderIsCopied(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	want := w.photoSet(10)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	wipe(t, w.photos)
	wipe(t, w.state) // a new machine: nothing in the journal
	r := w.startAgent()

	w.proxy.Reset()
	res := w.run("restore", w.photos)
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("restored %d file(s)", len(want))) {
		t.Fatalf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range want {
		key := "alice/laptop/pictures/laptop/pictures/" + strings.ReplaceAll(rel, "%", "%25") // escaped: '%' is %25 in a key
		w.eventually(30*time.Second, key+" is stored", func() bool { return w.objects()[key] == sum })
		if got := w.contentSHA256(key); got != sum {
			t.Errorf("%s holds %s, want %s", key, got, sum)
		}
	}
	sentinel := r.settled("after.jpg")
	s, _ := r.status()
	if s.Totals.Copied != len(want) || s.Totals.Uploaded != 1 {
		t.Errorf("agent totals: %+v, want %d copied and the new photo uploaded", s.Totals, len(want))
	}
	sent := w.proxy.Sent()
	t.Logf("restore into the watched folder of %d files: %d bytes sent to the storage (%d of them the new photo)", len(want), sent, sentinel)
	if sent > sentinel+256<<10 {
		t.Errorf("%d bytes sent to the storage, want server-side copies (the files are over 12 MiB)", sent)
	}
	if n := w.journalCount(`SELECT count(*) FROM restored`); n != len(want) {
		t.Errorf("%d restored records, want %d", n, len(want))
	}
	r.stop()
}

// A photo copied inside the watched folder (a new inode, the same bytes)
// is stored by a server-side copy, not sent again.
func TestRun_CopiedFileIsCopiedOnServer(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	sum := w.file("VID_1.mp4", mp4Header, 12*MiB, 3)
	photo := w.file("IMG_1.jpg", jpegHeader(t), 300<<10, 4)
	r := w.startAgent()
	w.eventually(30*time.Second, "both files are stored", func() bool { return len(w.objects()) == 2 })

	w.proxy.Reset()
	for from, to := range map[string]string{"VID_1.mp4": "copy/VID_1 copy.mp4", "IMG_1.jpg": "IMG_1 (2).jpg"} {
		b, err := os.ReadFile(filepath.Join(w.photos, from))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(w.photos, to)), 0o755)
		if err := os.WriteFile(filepath.Join(w.photos, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.eventually(30*time.Second, "the copies are stored", func() bool {
		o := w.objects()
		return o["alice/laptop/pictures/copy/VID_1 copy.mp4"] == sum && o["alice/laptop/pictures/IMG_1 (2).jpg"] == photo
	})
	if got := w.contentSHA256("alice/laptop/pictures/copy/VID_1 copy.mp4"); got != sum {
		t.Errorf("copied video holds %s, want %s", got, sum)
	}
	sent := w.proxy.Sent()
	t.Logf("a 12 MiB video and a 300 KiB photo copied in the folder: %d bytes sent to the storage", sent)
	if sent > 64<<10 {
		t.Errorf("the copies sent %d bytes, want server-side copies", sent)
	}
	if s, _ := r.status(); s.Totals.Copied != 2 {
		t.Errorf("agent totals: %+v, want 2 copied", s.Totals)
	}
	r.stop()
}

// A file a restore is still writing (NAME.cloudkeep-part) is never backed
// up, by the agent or by backup.
func TestRun_IgnoresRestorePartFiles(t *testing.T) {
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	w.file("half/IMG_1.jpg.cloudkeep-part", jpegHeader(t), 50000, 1)
	r := w.startAgent()
	w.file("IMG_2.jpg.cloudkeep-part", jpegHeader(t), 50000, 2)
	r.settled("after.jpg")
	r.stop()
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	for key := range w.objects() {
		if key != "alice/laptop/pictures/after.jpg" {
			t.Errorf("unexpected object %s: a partial restore was uploaded", key)
		}
	}
}

// A restore that selects nothing says so and exits 1.
func TestRestore_NothingMatches(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dest := filepath.Join(w.dir, "restored")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", dest}, "cloudkeep: nothing to restore: this account has no backed-up files\n"},
		{[]string{"restore", "--to-roots"}, `cloudkeep: nothing to restore: no backed-up file of this device ("laptop")` + "\n"},
	} {
		if res := w.run(tc.args...); res.code != 1 || !strings.HasSuffix(res.stderr, tc.want) {
			t.Errorf("%v on an empty bucket: %d %q, want 1 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
	w.file("2024/IMG_1.jpg", jpegHeader(t), 4000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--prefix", "laptop/pictures/2031/", dest},
			`cloudkeep: nothing to restore: no backed-up file matches --prefix "laptop/pictures/2031/"` + "\n"},
		{[]string{"restore", "--device", "phone", "--since", "2020-01-01", dest},
			`cloudkeep: nothing to restore: no backed-up file matches --device "phone" --since 2020-01-01` + "\n"},
		{[]string{"restore", "--to-roots", "--since", "2099-01-01"},
			`cloudkeep: nothing to restore: no backed-up file of this device ("laptop") matches --since 2099-01-01` + "\n"},
	} {
		if res := w.run(tc.args...); res.code != 1 || !strings.HasSuffix(res.stderr, tc.want) {
			t.Errorf("%v: %d %q, want 1 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("a restore of nothing made %s", dest)
	}
}

// `restore --to-roots --device phone` on the laptop puts the phone's files
// into the laptop's roots of the same names; a root the laptop does not
// have is reported, its files left out, and the exit code is 1. The
// laptop's agent stores what came back by server-side copies.
func TestRestore_ToRootsOfAnotherDevice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	phoneDir := filepath.Join(w.dir, "phone")
	phone := map[string]string{"camera": filepath.Join(phoneDir, "DCIM"), "screenshots": filepath.Join(phoneDir, "Screenshots")}
	phoneConfig := filepath.Join(w.dir, "phone.yaml")
	w.writeDeviceConfig(phoneConfig, "phone", filepath.Join(w.dir, "phone-state"), phone)
	jpg := jpegHeader(t)
	want := map[string]string{}
	for i := range 5 {
		rel := fmt.Sprintf("Camera/IMG_%d.jpg", i)
		path := filepath.Join(phone["camera"], filepath.FromSlash(rel))
		writeFile(t, path, jpg, int64(30000+i), uint64(i))
		want[rel] = w.fileSHA256(path)
	}
	writeFile(t, filepath.Join(phone["screenshots"], "s1.png"), pngHeader, 5000, 9)
	writeFile(t, filepath.Join(phone["screenshots"], "s2.png"), pngHeader, 5000, 10)
	if res := w.run("backup", "--config", phoneConfig); res.code != 0 {
		t.Fatalf("phone backup: %d %s %s", res.code, res.stdout, res.stderr)
	}

	camera := filepath.Join(w.dir, "LaptopCamera")
	os.MkdirAll(camera, 0o755)
	w.writeDeviceConfig(w.config, "laptop", w.state, map[string]string{"pictures": w.photos, "camera": camera})
	r := w.startAgent()
	w.proxy.Reset()
	res := w.run("restore", "--to-roots", "--device", "phone")
	wantErr := `cloudkeep: 2 file(s) not restored: no watched folder here is named "screenshots"; add one with that name under watch:, or restore them below a folder with 'cloudkeep restore DEST'` + "\n"
	if res.code != 1 || !strings.Contains(res.stdout, "restored 5 file(s)") || !strings.HasSuffix(res.stderr, wantErr) ||
		!strings.Contains(res.stdout, `not restored: 2 file(s) of root "screenshots" of device "phone": this config watches no folder named "screenshots"`) {
		t.Fatalf("restore --to-roots --device phone: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range want {
		if got := w.fileSHA256(filepath.Join(camera, filepath.FromSlash(rel))); got != sum {
			t.Errorf("%s: sha256 %s, want %s", rel, got, sum)
		}
		key := "alice/laptop/camera/" + rel
		w.eventually(30*time.Second, key+" is stored", func() bool { return w.objects()[key] == sum })
	}
	sentinel := r.settled("after.jpg")
	if s, _ := r.status(); s.Totals.Copied != len(want) || s.Totals.Uploaded != 1 {
		t.Errorf("agent totals: %+v, want %d copied and the new photo uploaded", s.Totals, len(want))
	}
	if sent := w.proxy.Sent(); sent > sentinel+128<<10 {
		t.Errorf("%d bytes sent, want server-side copies", sent)
	}
	r.stop()

	// Only unknown roots: nothing is downloaded, the same message.
	res = w.run("restore", "--to-roots", "--device", "phone", "--prefix", "phone/screenshots/")
	if res.code != 1 || !strings.HasSuffix(res.stderr, wantErr) || strings.Contains(res.stdout, "restored 0") {
		t.Errorf("only the unknown root: %d %q %q", res.code, res.stdout, res.stderr)
	}
}

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00")

// writeDeviceConfig writes a config like writeConfig's for another device
// name, state folder and roots (name → folder), w.top excluded.
func (w *world) writeDeviceConfig(path, device, state string, roots map[string]string) {
	w.t.Helper()
	var watch strings.Builder
	for name, dir := range roots {
		fmt.Fprintf(&watch, "  - path: %s\n    name: %s\n", dir, name)
		os.MkdirAll(dir, 0o777)
	}
	text := fmt.Sprintf(`device:
  name: %s
storage:
  endpoint: %s
  bucket: %s
  user: alice
  credentials:
    access_key: %s
    secret_key: %s
  part_size: 5MiB
  multipart_threshold: 5MiB
watch:
%sstate_dir: %s
settle: 200ms
`, device, w.proxy.Addr, w.srv.Bucket, w.srv.AccessKey, w.srv.SecretKey, watch.String(), state)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
}
