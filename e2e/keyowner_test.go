package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// dated is the storage config of keys by capture month, shared by the
// account's devices (no {device}).
const dated = "  key_template: \"{user}/{year}/{month}/{name}\"\n"

// Two devices of one account share a dated template: a device never
// writes onto a key the other stored, even one its listing of the folder,
// made before, does not show. Its photo of the same name and month takes
// a suffix.
func TestDateKeys_SharedDevices(t *testing.T) {
	t.Parallel()
	d1 := newWorld(t)
	d2 := newWorldOn(t, d1.srv, "")
	for _, w := range []*world{d1, d2} {
		w.top = "settle: 200ms\n"
		w.writeConfig(dated)
	}
	r1, r2 := d1.startAgent(), d2.startAgent()
	exif := mediatest.EXIF{DateTimeOriginal: "2024:02:10 10:00:00"}
	now := time.Now()
	// d2 lists alice/2024/02/ for its first photo there.
	a := d2.writeMedia("a.JPG", mediatest.JPEG(t, 16, 16, exif), now)
	d2.eventually(20*time.Second, "d2's first photo is stored", func() bool { return d2.backedUp()["alice/2024/02/a.JPG"] == a })

	const k = "alice/2024/02/IMG_0002.JPG"
	x := d1.writeMedia("IMG_0002.JPG", mediatest.JPEG(t, 32, 32, exif), now)
	d1.eventually(20*time.Second, "d1's IMG_0002.JPG is stored", func() bool { return d1.backedUp()[k] == x })
	y := d2.writeMedia("IMG_0002.JPG", mediatest.JPEG(t, 48, 48, exif), now)
	suffixed := "alice/2024/02/IMG_0002~" + y[:8] + ".JPG"
	d2.eventually(20*time.Second, "d2's IMG_0002.JPG is stored with a suffix", func() bool { return d2.backedUp()[suffixed] == y })
	r1.stop()
	r2.stop()
	if got := d1.contentSHA256(k); got != x {
		t.Errorf("%s holds %s, want d1's photo %s", k, got, x)
	}
}

// Two backups of two devices at the same moment, each with another
// IMG_0001.JPG of one month: both photos are in the bucket.
func TestDateKeys_SharedBackupsAtOnce(t *testing.T) {
	t.Parallel()
	d1 := newWorld(t)
	d2 := newWorldOn(t, d1.srv, "")
	exif := mediatest.EXIF{DateTimeOriginal: "2024:03:03 03:03:03"}
	sums := map[string]bool{}
	for i, w := range []*world{d1, d2} {
		w.writeConfig(dated)
		sums[w.writeMedia("IMG_0001.JPG", mediatest.JPEG(t, 16+8*i, 16, exif), time.Now())] = true
	}
	var wg sync.WaitGroup
	for _, w := range []*world{d1, d2} {
		wg.Go(func() {
			if res := w.run("backup"); res.code != 0 {
				t.Errorf("backup: %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
		})
	}
	wg.Wait()
	got := d1.backedUp()
	for _, sum := range got {
		delete(sums, sum)
	}
	if len(got) != 2 || len(sums) != 0 {
		t.Errorf("bucket: %v, want both photos", got)
	}
}

// A file deleted, then another one created at its path, or moved over it,
// is another file: the object of the first stays, the second takes a
// suffix. An edit, also one an editor writes as a new file renamed over
// the photo, replaces the photo's own object.
func TestKeys_RecreatedIsAnotherFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const p = "alice/laptop/pictures/"
	now := time.Now()
	v1 := w.writeMedia("DEL.JPG", mediatest.JPEG(t, 16, 16, mediatest.EXIF{}), now)
	ra := w.writeMedia("RA.JPG", mediatest.JPEG(t, 24, 16, mediatest.EXIF{}), now)
	rb := w.writeMedia("RB.JPG", mediatest.JPEG(t, 32, 16, mediatest.EXIF{}), now)
	w.writeMedia("RC.JPG", mediatest.JPEG(t, 40, 16, mediatest.EXIF{}), now)
	w.backupOK()

	// Deleted, then another DEL.JPG.
	if err := os.Remove(filepath.Join(w.photos, "DEL.JPG")); err != nil {
		t.Fatal(err)
	}
	w.backupOK()
	v2 := w.writeMedia("DEL.JPG", mediatest.JPEG(t, 16, 24, mediatest.EXIF{}), now.Add(time.Minute))
	// RA moved over RB; an editor's new RC moved over RC.
	rename(t, filepath.Join(w.photos, "RA.JPG"), filepath.Join(w.photos, "RB.JPG"))
	rc2 := w.writeMedia(".RC.JPG.tmp", mediatest.JPEG(t, 40, 24, mediatest.EXIF{}), now.Add(time.Minute))
	rename(t, filepath.Join(w.photos, ".RC.JPG.tmp"), filepath.Join(w.photos, "RC.JPG"))
	w.backupOK()

	// Deleted again, then a third DEL.JPG moved in from outside.
	if err := os.Remove(filepath.Join(w.photos, "DEL.JPG")); err != nil {
		t.Fatal(err)
	}
	w.backupOK()
	outside := filepath.Join(w.dir, "DEL.JPG")
	v3b := mediatest.JPEG(t, 16, 32, mediatest.EXIF{})
	mediatest.Write(t, outside, v3b, now.Add(2*time.Minute))
	v3 := hashReader(t, strings.NewReader(string(v3b)))
	rename(t, outside, filepath.Join(w.photos, "DEL.JPG"))
	w.backupOK()

	want := map[string]string{
		p + "DEL.JPG": v1, p + "DEL~" + v2[:8] + ".JPG": v2, p + "DEL~" + v3[:8] + ".JPG": v3,
		p + "RA.JPG": ra, p + "RB.JPG": rb, p + "RB~" + ra[:8] + ".JPG": ra,
		p + "RC.JPG": rc2,
	}
	if got := w.backedUp(); !sameMap(got, want) {
		t.Errorf("bucket: %v\nwant %v", got, want)
	}
}

// A file keeps its key while it lives at its path: a photo whose EXIF date
// is edited replaces its object in its first month (its sidecar stays
// beside it), and a suffixed photo that changes keeps its suffix.
func TestDateKeys_ChangedFileKeepsKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.writeConfig(dated)
	now := time.Now()
	may := mediatest.EXIF{DateTimeOriginal: "2024:05:05 10:00:00"}
	w.writeMedia("ED.JPG", mediatest.JPEG(t, 16, 16, may), now)
	side := w.writeMedia("ED.JPG.xmp", []byte(xmp(1)), now)
	w.backupOK()
	w.writeMedia("other/ED.JPG", mediatest.JPEG(t, 24, 16, may), now)
	w.backupOK()
	var suffixed string
	for k := range w.backedUp() {
		if strings.HasPrefix(k, "alice/2024/05/ED~") {
			suffixed = k
		}
	}
	if suffixed == "" {
		t.Fatalf("bucket %v: no suffixed ED.JPG", w.backedUp())
	}

	july := w.writeMedia("ED.JPG", mediatest.JPEG(t, 16, 24, mediatest.EXIF{DateTimeOriginal: "2024:07:07 10:00:00"}), now.Add(time.Minute))
	var edited string
	for i := range 3 {
		edited = w.writeMedia("other/ED.JPG", mediatest.JPEG(t, 24, 24+8*i, may), now.Add(time.Duration(i+1)*time.Minute))
		w.backupOK()
	}
	want := map[string]string{"alice/2024/05/ED.JPG": july, "alice/2024/05/ED.JPG.xmp": side, suffixed: edited}
	if got := w.backedUp(); !sameMap(got, want) {
		t.Errorf("bucket: %v\nwant %v", got, want)
	}
	if m := w.objectMeta("alice/2024/05/ED.JPG"); !strings.HasPrefix(m["Capture-Time"], "2024-07-07T10:00:00") {
		t.Errorf("the edited photo's Capture-Time %q, want its own new date", m["Capture-Time"])
	}
}

// A sidecar written before its photo waits for it, and lands beside it.
func TestGroups_SidecarBeforePhoto(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig(dated)
	r := w.startAgent()
	side := w.writeMedia("EARLY.JPG.xmp", []byte(xmp(2)), time.Now())
	time.Sleep(2 * time.Second) // the sidecar settles first
	photo := w.writeMedia("EARLY.JPG", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:05:01 12:00:00"}), time.Now())
	w.eventually(30*time.Second, "the photo and its sidecar are stored", func() bool {
		got := w.backedUp()
		return got["alice/2024/05/EARLY.JPG"] == photo && got["alice/2024/05/EARLY.JPG.xmp"] == side
	})
	r.stop()
	if got := w.backedUp(); len(got) != 2 {
		t.Errorf("bucket: %v, want the photo and its sidecar alone", got)
	}
}

// The members of a group land in the month of its main photo, each with
// its own capture time: a Live Photo whose video's clock says the day
// before, Pixel's RAW pair across midnight.
func TestGroups_PartnersShareMonth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.writeConfig(dated)
	now := time.Now()
	still := w.writeMedia("IMG_0777.JPG", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:02:01 00:00:10", OffsetTimeOriginal: "+09:00"}), now)
	video := w.writeMedia("IMG_0777.MOV", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 15, 0, 10, 0, time.UTC)}), now)
	cover := w.writeMedia("PXL_20240131_235959000.RAW-01.COVER.jpg", mediatest.JPEG(t, 16, 16, mediatest.EXIF{DateTimeOriginal: "2024:01:31 23:59:59", OffsetTimeOriginal: "+01:00"}), now)
	raw := w.writeMedia("PXL_20240131_235959000.RAW-02.ORIGINAL.dng", mediatest.DNG(t, mediatest.EXIF{DateTimeOriginal: "2024:02:01 00:00:01", OffsetTimeOriginal: "+01:00"}, 16, 16), now)
	w.backupOK()
	want := map[string]string{
		"alice/2024/02/IMG_0777.JPG": still, "alice/2024/02/IMG_0777.MOV": video,
		"alice/2024/01/PXL_20240131_235959000.RAW-01.COVER.jpg":    cover,
		"alice/2024/01/PXL_20240131_235959000.RAW-02.ORIGINAL.dng": raw,
	}
	if got := w.backedUp(); !sameMap(got, want) {
		t.Fatalf("bucket: %v\nwant %v", got, want)
	}
	if m := w.objectMeta("alice/2024/02/IMG_0777.MOV"); m["Capture-Time"] != "2024-01-31T15:00:10Z" || m["Capture-Source"] != "video" {
		t.Errorf("the video's metadata %v, want its own capture time 2024-01-31T15:00:10Z from video", m)
	}
	if m := w.objectMeta("alice/2024/01/PXL_20240131_235959000.RAW-02.ORIGINAL.dng"); m["Capture-Time"] != "2024-02-01T00:00:01+01:00" {
		t.Errorf("the RAW's Capture-Time %q, want its own 2024-02-01T00:00:01+01:00", m["Capture-Time"])
	}
}

// In account mode too: two devices of one account share a dated
// template; the second device's view of the folder is a minute old, its
// PUT onto the key the first stored meanwhile is refused by the storage
// (the grant signs If-None-Match: *), and its photo takes a suffix.
func TestAccountMode_SharedDateKeys(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{versitygw: onVersitygw()})
	id := s.signup("erin@example.com", "erin-pass-55")
	var ds []*world
	for _, name := range []string{"laptop", "phone"} {
		w := newWorldOn(t, s.srv, s.url)
		w.top = "settle: 200ms\n"
		w.writeConfig(dated)
		nameDevice(t, w, name)
		w.login(s, "erin@example.com", "erin-pass-55", "erin@example.com")
		ds = append(ds, w)
	}
	d1, d2 := ds[0], ds[1]
	r1, r2 := d1.startAgent(), d2.startAgent()
	exif := mediatest.EXIF{DateTimeOriginal: "2024:02:10 10:00:00"}
	now := time.Now()
	prefix := id + "/2024/02/"
	a := d2.writeMedia("a.JPG", mediatest.JPEG(t, 16, 16, exif), now)
	d2.eventually(20*time.Second, "d2's first photo is stored", func() bool { return d2.backedUp()[prefix+"a.JPG"] == a })

	k := prefix + "IMG_0002.JPG"
	x := d1.writeMedia("IMG_0002.JPG", mediatest.JPEG(t, 32, 32, exif), now)
	d1.eventually(20*time.Second, "d1's IMG_0002.JPG is stored", func() bool { return d1.backedUp()[k] == x })
	y := d2.writeMedia("IMG_0002.JPG", mediatest.JPEG(t, 48, 48, exif), now)
	suffixed := prefix + "IMG_0002~" + y[:8] + ".JPG"
	d2.eventually(20*time.Second, "d2's IMG_0002.JPG is stored with a suffix", func() bool { return d2.backedUp()[suffixed] == y })
	r1.stop()
	r2.stop()
	if got := d1.contentSHA256(k); got != x {
		t.Errorf("%s holds %s, want d1's photo %s", k, got, x)
	}
}

// nameDevice gives w's device another name than writeConfig's.
func nameDevice(t *testing.T, w *world, name string) {
	t.Helper()
	b, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "device:\n  name: laptop\n", "device:\n  name: "+name+"\n", 1)
	if err := os.WriteFile(w.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
