//go:build linux

package freeup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

func newTrash(t *testing.T) (*Trash, string) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "Trash")
	at := time.Date(2026, 11, 27, 14, 5, 0, 0, time.Local)
	return &Trash{Home: home, Now: func() time.Time { return at }}, t.TempDir()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTrash_Move(t *testing.T) {
	tr, dir := newTrash(t)
	src := filepath.Join(dir, "2024", "IMG_0001.jpg")
	writeFile(t, src, "photo one")
	to, err := tr.Move(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tr.Home, "files", "IMG_0001.jpg"); to != want {
		t.Errorf("moved to %s, want %s", to, want)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the file is still at %s (stat: %v)", src, err)
	}
	if got := readFile(t, to); got != "photo one" {
		t.Errorf("trashed content %q, want %q", got, "photo one")
	}
	info := readFile(t, filepath.Join(tr.Home, "info", "IMG_0001.jpg.trashinfo"))
	want := "[Trash Info]\nPath=" + src + "\nDeletionDate=2026-11-27T14:05:00\n"
	if info != want {
		t.Errorf(".trashinfo:\n%s\nwant:\n%s", info, want)
	}
	for _, sub := range []string{"", "files", "info"} {
		fi, err := os.Stat(filepath.Join(tr.Home, sub))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, %v; want 0700", filepath.Join(tr.Home, sub), fi.Mode().Perm(), err)
		}
	}
}

func TestTrash_MoveCollisions(t *testing.T) {
	tr, dir := newTrash(t)
	var got []string
	for i := range 3 {
		src := filepath.Join(dir, strconv.Itoa(i), "IMG_0001.jpg")
		writeFile(t, src, "photo "+strconv.Itoa(i))
		to, err := tr.Move(src)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(to))
		info := readFile(t, filepath.Join(tr.Home, "info", filepath.Base(to)+".trashinfo"))
		if want := "Path=" + src + "\n"; !contains(info, want) {
			t.Errorf("%s.trashinfo has no %q:\n%s", filepath.Base(to), want, info)
		}
		if c := readFile(t, to); c != "photo "+strconv.Itoa(i) {
			t.Errorf("%s holds %q, want %q", to, c, "photo "+strconv.Itoa(i))
		}
	}
	want := []string{"IMG_0001.jpg", "IMG_0001.2.jpg", "IMG_0001.3.jpg"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("names %v, want %v", got, want)
			break
		}
	}
}

// A file in files/ without its .trashinfo (left by a crash) is never
// replaced: the next name is taken, and no .trashinfo is left behind.
func TestTrash_MoveOrphanFile(t *testing.T) {
	tr, dir := newTrash(t)
	writeFile(t, filepath.Join(tr.Home, "files", "a.mov"), "orphan")
	src := filepath.Join(dir, "a.mov")
	writeFile(t, src, "video")
	to, err := tr.Move(src)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(to) != "a.2.mov" {
		t.Errorf("moved to %s, want a.2.mov", to)
	}
	if c := readFile(t, filepath.Join(tr.Home, "files", "a.mov")); c != "orphan" {
		t.Errorf("the orphan was replaced: %q", c)
	}
	if _, err := os.Stat(filepath.Join(tr.Home, "info", "a.mov.trashinfo")); !os.IsNotExist(err) {
		t.Errorf("a.mov.trashinfo left behind (stat: %v)", err)
	}
}

func TestTrash_MoveOddNames(t *testing.T) {
	for _, tc := range []struct{ name, escaped string }{
		{"with space.jpg", "with%20space.jpg"},
		{"100%.jpg", "100%25.jpg"},
		{"été #1?.jpg", "%C3%A9t%C3%A9%20%231%3F.jpg"},
		{"a\nb.jpg", "a%0Ab.jpg"},
		{"bad\xff.jpg", "bad%FF.jpg"},
		{".hidden", ".hidden"},
	} {
		t.Run(tc.escaped, func(t *testing.T) {
			tr, dir := newTrash(t)
			src := filepath.Join(dir, "Ordner [1]", tc.name)
			writeFile(t, src, "x")
			to, err := tr.Move(src)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(to) != tc.name {
				t.Errorf("moved to %q, want the name %q", to, tc.name)
			}
			info := readFile(t, filepath.Join(tr.Home, "info", tc.name+".trashinfo"))
			want := "Path=" + escapePath(dir) + "/Ordner%20%5B1%5D/" + tc.escaped + "\n"
			if !contains(info, want) {
				t.Errorf(".trashinfo has no %q:\n%s", want, info)
			}
		})
	}
}

func TestCandidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"IMG_1.jpg", 1, "IMG_1.jpg"},
		{"IMG_1.jpg", 2, "IMG_1.2.jpg"},
		{"IMG_1.JPG", 12, "IMG_1.12.JPG"},
		{"noext", 2, "noext.2"},
		{".hidden", 3, ".hidden.3"},
	} {
		if got := candidate(tc.name, tc.n); got != tc.want {
			t.Errorf("candidate(%q, %d) = %q, want %q", tc.name, tc.n, got, tc.want)
		}
	}
}

// A file on another file system than the home trash goes to that
// volume's trash, $topdir/.Trash-$uid, with a Path relative to the top
// folder; it is never copied across.
func TestTrash_MoveOtherVolume(t *testing.T) {
	shm := "/dev/shm"
	var a, b unixStat
	tr, dir := newTrash(t)
	if statDev(shm, &a) != nil || statDev(dir, &b) != nil || a.dev == b.dev {
		t.Skip("no second file system at /dev/shm")
	}
	sub, err := os.MkdirTemp(shm, "freeup-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(sub) })
	src := filepath.Join(sub, "IMG 2.heic")
	writeFile(t, src, "on tmpfs")
	top, err := topDir(src, a.dev)
	if err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(top, ".Trash-"+strconv.Itoa(os.Getuid()))
	existed := false
	if _, err := os.Stat(vol); err == nil {
		existed = true
	}
	to, err := tr.Move(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(to)
		os.Remove(filepath.Join(vol, "info", filepath.Base(to)+".trashinfo"))
		if !existed {
			os.RemoveAll(vol)
		}
	})
	if filepath.Dir(to) != filepath.Join(vol, "files") {
		t.Errorf("moved to %s, want into %s", to, filepath.Join(vol, "files"))
	}
	rel, _ := filepath.Rel(top, src)
	info := readFile(t, filepath.Join(vol, "info", filepath.Base(to)+".trashinfo"))
	if want := "Path=" + escapePath(rel) + "\n"; !contains(info, want) {
		t.Errorf(".trashinfo has no %q:\n%s", want, info)
	}
	if _, err := os.Stat(filepath.Join(tr.Home, "files")); err == nil {
		if entries, _ := os.ReadDir(filepath.Join(tr.Home, "files")); len(entries) > 0 {
			t.Errorf("the home trash got %d file(s); want none", len(entries))
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

type unixStat struct{ dev uint64 }

func statDev(path string, s *unixStat) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	s.dev = st.Dev
	return nil
}

// A name near the 255-byte limit is shortened in the trash, with its
// extension kept and cut on a character's boundary; its .trashinfo keeps
// the whole path.
func TestTrash_MoveLongName(t *testing.T) {
	tr, dir := newTrash(t)
	name := strings.Repeat("é", 124) + ".jpeg" // 253 bytes
	src := filepath.Join(dir, name)
	writeFile(t, src, "photo")
	to, err := tr.Move(src)
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Base(to)
	if !strings.HasSuffix(short, ".jpeg") || len(short) > maxName || !utf8.ValidString(short) || !strings.HasPrefix(name, strings.TrimSuffix(short, ".jpeg")) {
		t.Errorf("trash name %q (%d bytes), want %s shortened to %d bytes or less, .jpeg kept", short, len(short), name, maxName)
	}
	info := readFile(t, filepath.Join(tr.Home, "info", short+".trashinfo"))
	if !strings.Contains(info, "\nPath="+escapePath(src)+"\n") {
		t.Errorf(".trashinfo %q does not record the whole path %s", info, src)
	}
}

// Sweep removes the .trashinfo a killed free-up left (its file still at
// its path, none in the trash), and no other entry of the trash.
func TestTrash_Sweep(t *testing.T) {
	tr, dir := newTrash(t)
	root := filepath.Join(dir, "photos")
	writeFile(t, filepath.Join(root, "orphan.jpg"), "still here")
	writeFile(t, filepath.Join(root, "moved.jpg"), "moved")
	if _, err := tr.Move(filepath.Join(root, "moved.jpg")); err != nil {
		t.Fatal(err)
	}
	entry := func(name, path string) string {
		p := filepath.Join(tr.Home, "info", name+".trashinfo")
		writeFile(t, p, "[Trash Info]\nPath="+escapePath(path)+"\nDeletionDate=2026-11-27T14:05:00\n")
		return p
	}
	orphan := entry("orphan.jpg", filepath.Join(root, "orphan.jpg"))
	others := []string{
		entry("elsewhere.jpg", filepath.Join(dir, "elsewhere.jpg")), // not in a watched folder
		entry("gone.jpg", filepath.Join(root, "gone.jpg")),          // its file is nowhere
	}
	writeFile(t, filepath.Join(dir, "elsewhere.jpg"), "x")
	got := tr.Sweep([]string{root})
	if len(got) != 1 || got[0] != orphan {
		t.Errorf("Sweep removed %q, want only %s", got, orphan)
	}
	for _, p := range append(others, filepath.Join(tr.Home, "info", "moved.jpg.trashinfo")) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Sweep removed %s: %v", p, err)
		}
	}
}
