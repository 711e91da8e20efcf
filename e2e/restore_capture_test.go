package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// capturedSet is a camera roll whose modification times say otherwise than
// when its photos were taken.
type capturedSet struct {
	sums  map[string]string // rel in the root: hex SHA-256
	sizes map[string]int64
}

// writeCapturedSet writes, in w's photos:
//   - IMG_0001.JPG (EXIF 2024-01-31 14:05 +09:00) and IMG_0001.MOV (its
//     QuickTime creation date, the same ContentIdentifier): a Live Photo;
//   - scans/scan.jpg, taken 2024-01-15 (EXIF, +01:00), modified in 2018;
//   - old/DSC_0100.jpg, taken 2019-06-01 (EXIF without offset), modified
//     2024-02-10;
//   - IMG_20240120_101500.jpg, no EXIF: the date of its name;
//   - notes.png, nothing but its mtime 2023-05-05 12:00 local.
func writeCapturedSet(t *testing.T, w *world) capturedSet {
	t.Helper()
	local := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.Local) }
	files := []struct {
		rel   string
		body  []byte
		mtime time.Time
	}{
		{"IMG_0001.JPG", mediatest.JPEG(t, 64, 48, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Make: "Apple"}), local(2024, 3, 1, 9)},
		{"IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC),
			CreationDate: "2024-01-31T14:05:00+0900", ContentID: "6F0E6C2A-1D5B-4E4B-9E4B-2A3C4D5E6F70"}), local(2024, 3, 1, 9)},
		{"scans/scan.jpg", mediatest.JPEG(t, 80, 60, mediatest.EXIF{DateTimeOriginal: "2024:01:15 09:30:00", OffsetTimeOriginal: "+01:00"}), local(2018, 5, 5, 12)},
		{"old/DSC_0100.jpg", mediatest.JPEG(t, 96, 64, mediatest.EXIF{DateTimeOriginal: "2019:06:01 10:00:00"}), local(2024, 2, 10, 12)},
		{"IMG_20240120_101500.jpg", mediatest.JPEG(t, 32, 32, mediatest.EXIF{}), local(2022, 7, 7, 7)},
		{"notes.png", mediatest.PNG(t, 40, 30), local(2023, 5, 5, 12)},
	}
	s := capturedSet{sums: map[string]string{}, sizes: map[string]int64{}}
	for _, f := range files {
		path := filepath.Join(w.photos, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		mediatest.Write(t, path, f.body, f.mtime)
		s.sums[f.rel] = hashReader(t, bytes.NewReader(f.body))
		s.sizes[f.rel] = int64(len(f.body))
	}
	return s
}

// putThumb stores a thumbnail where the agent keeps them, unless the
// backup made one already: ls and restore must never show it as a file.
func putThumb(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	for o := range w.srv.Client.ListObjects(ctx, w.srv.Bucket, minio.ListObjectsOptions{Prefix: "alice/.thumbs/", Recursive: true}) {
		if o.Err == nil {
			return
		}
	}
	body := mediatest.JPEG(t, 8, 8, mediatest.EXIF{})
	_, err := w.srv.Client.PutObject(ctx, w.srv.Bucket, "alice/.thumbs/"+strings.Repeat("ab", 32)+".jpg", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) mustRun(args ...string) string {
	w.t.Helper()
	res := w.run(args...)
	if res.code != 0 {
		w.t.Fatalf("%v: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

// ls and restore select by when the photos were taken, not by when the
// files were last written; ls --long shows it as taken.
func TestLsRestore_CaptureTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	set := writeCapturedSet(t, w)
	w.mustRun("backup")
	putThumb(t, w)

	got := w.mustRun("ls", "--since", "2024-01-01", "--until", "2024-01-31")
	want := "laptop/pictures/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n" +
		"laptop/pictures/IMG_20240120_101500.jpg\n" +
		"laptop/pictures/scans/scan.jpg\n"
	if got != want {
		t.Errorf("ls --since 2024-01-01 --until 2024-01-31:\n%s\nwant\n%s", got, want)
	}
	if got := w.mustRun("ls", "--until", "2024-01-19"); got != "laptop/pictures/notes.png\nlaptop/pictures/old/DSC_0100.jpg\nlaptop/pictures/scans/scan.jpg\n" {
		t.Errorf("ls --until 2024-01-19:\n%s", got)
	}
	// Days are this machine's: in Los Angeles the Live Photo was taken on
	// January 30 (21:05 -08:00).
	if _, err := os.Stat("/usr/share/zoneinfo/America/Los_Angeles"); err == nil {
		w.env = append(w.env, "TZ=America/Los_Angeles")
		if got := w.mustRun("ls", "--since", "2024-01-30", "--until", "2024-01-30"); got != "laptop/pictures/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n" {
			t.Errorf("ls --since 2024-01-30 --until 2024-01-30 in Los Angeles:\n%s", got)
		}
		w.env = w.env[:len(w.env)-1]
	}
	if res := w.run("ls", "--since", "2024-02-01"); res.code != 1 || res.stderr != "cloudkeep: no backed-up file matches --since 2024-02-01\n" {
		t.Errorf("ls --since 2024-02-01: %d %q %q", res.code, res.stdout, res.stderr)
	}

	size := func(rels ...string) string {
		var n int64
		for _, rel := range rels {
			n += set.sizes[rel]
		}
		return humanize.IBytes(uint64(n))
	}
	var total []string
	for rel := range set.sizes {
		total = append(total, rel)
	}
	localTime := func(tm time.Time) string { return tm.Format("2006-01-02 15:04 -07:00") }
	got = w.mustRun("ls", "--long")
	want = fmt.Sprintf("%10s  2024-01-31 14:05 +09:00    laptop        laptop/pictures/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n", size("IMG_0001.JPG", "IMG_0001.MOV")) +
		fmt.Sprintf("%10s  2024-01-20 10:15 (name)    laptop        laptop/pictures/IMG_20240120_101500.jpg\n", size("IMG_20240120_101500.jpg")) +
		fmt.Sprintf("%10s  2023-05-05 12:00 (mtime)   laptop        laptop/pictures/notes.png\n", size("notes.png")) +
		fmt.Sprintf("%10s  %-25s  laptop        laptop/pictures/old/DSC_0100.jpg\n", size("old/DSC_0100.jpg"), localTime(time.Date(2019, 6, 1, 10, 0, 0, 0, time.Local))) +
		fmt.Sprintf("%10s  2024-01-15 09:30 +01:00    laptop        laptop/pictures/scans/scan.jpg\n", size("scans/scan.jpg")) +
		fmt.Sprintf("6 file(s), %s\n", size(total...))
	if got != want {
		t.Errorf("ls --long:\n%s\nwant\n%s", got, want)
	}

	var items []map[string]any
	if err := json.Unmarshal([]byte(w.mustRun("ls", "--json")), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 6 {
		t.Fatalf("ls --json: %d items, want 6 (no thumbnail): %v", len(items), items)
	}
	live := items[0]
	if live["path"] != "laptop/pictures/IMG_0001.JPG" || live["capture_time"] != "2024-01-31T14:05:00+09:00" || live["capture_source"] != "exif" ||
		len(fmt.Sprint(live["group"])) != 16 || live["group"] != items[1]["group"] || live["motion"] != false {
		t.Errorf("ls --json: got %v and %v, want IMG_0001.JPG taken 2024-01-31T14:05:00+09:00 (exif) in the group of IMG_0001.MOV", live, items[1])
	}

	// By capture time: scan.jpg (modified in 2018) comes back, DSC_0100.jpg
	// (modified in 2024, taken in 2019) does not.
	dest := filepath.Join(w.dir, "since")
	out := w.mustRun("restore", "--since", "2024-01-01", dest)
	if !strings.Contains(out, "restored 4 file(s)") || strings.Contains(out, "group partner") {
		t.Errorf("restore --since 2024-01-01: %q", out)
	}
	assertTree(t, w, dest, set, "laptop/pictures/", "IMG_0001.JPG", "IMG_0001.MOV", "IMG_20240120_101500.jpg", "scans/scan.jpg")
}

// assertTree checks that dest holds exactly the files rels of the
// photos folder, each at under+rel, with the bytes backed up.
func assertTree(t *testing.T, w *world, dest string, set capturedSet, under string, rels ...string) {
	t.Helper()
	var got []string
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	var want []string
	for _, rel := range rels {
		want = append(want, under+rel)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %v, want %v", dest, got, want)
	}
	for _, rel := range rels {
		if sum := w.fileSHA256(filepath.Join(dest, filepath.FromSlash(under+rel))); sum != set.sums[rel] {
			t.Errorf("%s: sha256 %s, want %s", under+rel, sum, set.sums[rel])
		}
	}
}

// Restoring one file of a Live Photo brings its video too, and says so;
// --group-aware=false restores the one file.
func TestRestore_GroupAware(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	set := writeCapturedSet(t, w)
	w.mustRun("backup")
	putThumb(t, w)

	if got := w.mustRun("ls", "laptop/pictures/IMG_0001.M"); got != "laptop/pictures/IMG_0001.MOV\n" {
		t.Errorf("ls of the video alone: %q", got)
	}
	dest := filepath.Join(w.dir, "one")
	out := w.mustRun("restore", "--prefix", "laptop/pictures/IMG_0001.J", dest)
	if !strings.HasPrefix(out, "+1 group partner of the selected files (--group-aware=false leaves them out)\nrestored 2 file(s)") {
		t.Errorf("restore of the photo: %q", out)
	}
	assertTree(t, w, dest, set, "laptop/pictures/", "IMG_0001.JPG", "IMG_0001.MOV")

	dest = filepath.Join(w.dir, "off")
	out = w.mustRun("restore", "--group-aware=false", "--prefix", "laptop/pictures/IMG_0001.J", dest)
	if !strings.HasPrefix(out, "restored 1 file(s)") {
		t.Errorf("restore --group-aware=false: %q", out)
	}
	assertTree(t, w, dest, set, "laptop/pictures/", "IMG_0001.JPG")

	// Everything: no thumbnail among the files.
	dest = filepath.Join(w.dir, "all")
	out = w.mustRun("restore", dest)
	if !strings.Contains(out, "restored 6 file(s)") {
		t.Errorf("restore: %q", out)
	}
	assertTree(t, w, dest, set, "laptop/pictures/", slices.Collect(maps.Keys(set.sums))...)
}

// With keys by date and name, ls and restore follow the keys' folders;
// --to-roots cannot tell where each file was.
func TestLsRestore_DatedKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	set := writeCapturedSet(t, w)
	w.mustRun("backup")
	putThumb(t, w)

	want := "2019/06/DSC_0100.jpg\n2023/05/notes.png\n2024/01/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n" +
		"2024/01/IMG_20240120_101500.jpg\n2024/01/scan.jpg\n"
	if got := w.mustRun("ls"); got != want {
		t.Errorf("ls:\n%s\nwant\n%s", got, want)
	}
	if got := w.mustRun("ls", "--device", "laptop", "--since", "2024-01-16"); got != "2024/01/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n2024/01/IMG_20240120_101500.jpg\n" {
		t.Errorf("ls --device laptop --since 2024-01-16:\n%s", got)
	}
	dest := filepath.Join(w.dir, "one")
	out := w.mustRun("restore", "--prefix", "2024/01/IMG_0001.M", dest)
	if !strings.HasPrefix(out, "+1 group partner of the selected files") || !strings.Contains(out, "restored 2 file(s)") {
		t.Errorf("restore of the video: %q", out)
	}
	assertTree(t, w, dest, set, "2024/01/", "IMG_0001.JPG", "IMG_0001.MOV")

	res := w.run("restore", "--to-roots")
	if res.code != 2 || !strings.Contains(res.stderr, `--to-roots needs {root} in storage.key_template ("{user}/{year}/{month}/{name}")`) {
		t.Errorf("restore --to-roots: %d %q %q", res.code, res.stdout, res.stderr)
	}
}

// Through the account service too: the capture time and the groups come
// back in its listings, and a group is restored whole.
func TestAccountMode_LsRestoreGroups(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	s.signup("erin@example.com", "erin-pass-55")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "erin@example.com", "erin-pass-55", "erin@example.com")
	set := writeCapturedSet(t, w)
	w.mustRun("backup")

	want := "laptop/pictures/IMG_0001.JPG + IMG_0001.MOV (Live Photo)\n" +
		"laptop/pictures/IMG_20240120_101500.jpg\n" +
		"laptop/pictures/scans/scan.jpg\n"
	if got := w.mustRun("ls", "--since", "2024-01-01"); got != want {
		t.Errorf("ls --since 2024-01-01:\n%s\nwant\n%s", got, want)
	}
	if got := w.mustRun("ls", "--long", "laptop/pictures/scans/"); !strings.Contains(got, "  2024-01-15 09:30 +01:00    laptop        laptop/pictures/scans/scan.jpg\n") {
		t.Errorf("ls --long: %q", got)
	}
	dest := filepath.Join(w.dir, "one")
	out := w.mustRun("restore", "--prefix", "laptop/pictures/IMG_0001.MOV", dest)
	if !strings.HasPrefix(out, "+1 group partner of the selected files") || !strings.Contains(out, "restored 2 file(s)") {
		t.Errorf("restore of the video: %q", out)
	}
	assertTree(t, w, dest, set, "laptop/pictures/", "IMG_0001.JPG", "IMG_0001.MOV")
}
