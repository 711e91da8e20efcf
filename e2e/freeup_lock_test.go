package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// Two free-ups never run at once: the second says so and changes
// nothing, where it once undid the first's marks and let the agent take
// the moved files for deleted.
func TestFreeUp_OneAtATime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "XDG_DATA_HOME="+filepath.Join(w.dir, "data"))
	old := time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)
	w.writeMedia("a.jpg", mediatest.JPEG(t, 40, 40, mediatest.EXIF{DateTimeOriginal: "2024:02:01 10:00:00"}), old)
	w.backupOK()

	lock := filepath.Join(w.state, "free-up.lock")
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	res := w.run("free-up", "--yes", "--older-than", "0")
	want := "another free-up is running (it holds " + lock + "): let it end first"
	if res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Errorf("free-up while another runs: exit %d, want 1 and %q\n%s\n%s", res.code, want, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.photos, "a.jpg")); err != nil {
		t.Errorf("a.jpg was taken while another free-up ran: %v", err)
	}
	if res := w.run("free-up", "--dry-run", "--older-than", "0"); res.code != 0 {
		t.Errorf("free-up --dry-run while another runs: exit %d, want 0 (it changes nothing)\n%s", res.code, res.stderr)
	}
	f.Close()
	if res := w.run("free-up", "--yes", "--older-than", "0"); res.code != 0 || !strings.Contains(res.stdout, "Moved 1 file (") {
		t.Errorf("free-up once the other ended: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}

// A freed photo's backup stays part of the device's state when another
// photo takes its name (a camera that numbers from IMG_0001 again): ls
// lists both, prune would remove neither.
func TestFreeUp_FreedNameTaken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "XDG_DATA_HOME="+filepath.Join(w.dir, "data"))
	old := time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)
	w.writeMedia("IMG_0001.JPG", mediatest.JPEG(t, 40, 40, mediatest.EXIF{DateTimeOriginal: "2024:02:01 10:00:00"}), old)
	w.backupOK()
	if res := w.run("free-up", "--yes", "--older-than", "0"); res.code != 0 || !strings.Contains(res.stdout, "Moved 1 file (") {
		t.Fatalf("free-up: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	w.writeMedia("IMG_0001.JPG", mediatest.JPEG(t, 50, 50, mediatest.EXIF{DateTimeOriginal: "2025:03:01 10:00:00"}), old.AddDate(1, 0, 0))
	w.backupOK()

	ls := w.run("ls") // one line: the two share a group stem
	if ls.code != 0 || !strings.HasPrefix(ls.stdout, "laptop/pictures/IMG_0001.JPG + IMG_0001~") {
		t.Errorf("ls: exit %d %q, want the freed IMG_0001.JPG and the new one beside it\n%s", ls.code, ls.stdout, ls.stderr)
	}
	dry := w.run("prune", "--deleted-before", "0s", "--dry-run")
	if dry.code != 0 || strings.Contains(dry.stdout, "IMG_0001") {
		t.Errorf("prune --dry-run: exit %d, would remove a freed photo's only backup:\n%s\n%s", dry.code, dry.stdout, dry.stderr)
	}
}

// A group is freed all or nothing over the files on the disk: an edit
// record written since the last scan keeps its photo.
func TestFreeUp_GroupMemberNotInJournal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "XDG_DATA_HOME="+filepath.Join(w.dir, "data"))
	old := time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)
	w.writeMedia("DSC_0009.JPG", mediatest.JPEG(t, 40, 40, mediatest.EXIF{DateTimeOriginal: "2024:02:01 10:00:00"}), old)
	w.backupOK()
	w.writeMedia("DSC_0009.JPG.xmp", []byte("<x:xmpmeta/>"), old)
	res := w.run("free-up", "--yes", "-v", "--older-than", "0")
	want := "  keep  " + filepath.Join(w.photos, "DSC_0009.JPG") + ": a file of its group is not backed up (DSC_0009.JPG.xmp)\n"
	if res.code != 0 || !strings.Contains(res.stdout, want) || !strings.Contains(res.stdout, "Nothing to free.") {
		t.Errorf("free-up: exit %d, want %q and nothing freed\n%s\n%s", res.code, want, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.photos, "DSC_0009.JPG")); err != nil {
		t.Errorf("DSC_0009.JPG was freed without its edit record: %v", err)
	}
}

// Files free-up cannot free for the space are kept with why: a symbolic
// link, a file with other hard links. A name near 255 bytes is shortened
// in the trash. --folder may be a link into a watched folder.
func TestFreeUp_OddFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "XDG_DATA_HOME="+filepath.Join(w.dir, "data"))
	old := time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)
	photo := func(rel string, n int) {
		w.writeMedia(rel, mediatest.JPEG(t, 30+n, 30+n, mediatest.EXIF{DateTimeOriginal: "2024:02:01 10:00:00"}), old)
	}
	outside := filepath.Join(w.dir, "outside.jpg")
	if err := os.WriteFile(outside, mediatest.JPEG(t, 20, 20, mediatest.EXIF{}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.photos, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(w.photos, "sub", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	photo("sub/hard.jpg", 1)
	hard := filepath.Join(w.photos, "sub", "hard.jpg")
	if err := os.Link(hard, filepath.Join(w.dir, "hard-elsewhere.jpg")); err != nil {
		t.Fatal(err)
	}
	long := "sub/" + strings.Repeat("n", 246) + ".jpg" // 250 bytes
	photo(long, 2)
	w.backupOK()
	via := filepath.Join(w.dir, "via")
	if err := os.Symlink(filepath.Join(w.photos, "sub"), via); err != nil {
		t.Fatal(err)
	}

	res := w.run("free-up", "--dry-run", "-v", "--older-than", "0", "--folder", via)
	for _, want := range []string{
		"  free  " + filepath.Join(w.photos, long),
		"  keep  " + hard + ": other hard links hold it: no space would be freed",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("free-up --dry-run -v --folder %s: exit %d, want %q\n%s\n%s", via, res.code, want, res.stdout, res.stderr)
		}
	}
	if !strings.Contains(res.stdout, "  keep  "+filepath.Join(w.photos, "sub", "link.jpg")+": a symbolic link") {
		t.Errorf("the symbolic link is not kept as one:\n%s", res.stdout)
	}
	res = w.run("free-up", "--yes", "--older-than", "0", "--folder", via)
	if res.code != 0 || !strings.Contains(res.stdout, "Moved 1 file (") {
		t.Fatalf("free-up --yes: exit %d, want the long name moved\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Lstat(filepath.Join(w.photos, long)); !os.IsNotExist(err) {
		t.Errorf("the long name is still there: %v", err)
	}
	for _, keep := range []string{hard, filepath.Join(w.photos, "sub", "link.jpg"), outside} {
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("%s was taken: %v", keep, err)
		}
	}
}
