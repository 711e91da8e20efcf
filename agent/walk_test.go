package agent

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
)

// Each way of telling folders apart ends a link loop: the platform's own
// (inode numbers on Unix) and the os.SameFile one Windows uses, which runs
// here too.
func TestWalk(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.jpg", "sub/b.jpg", ".hidden/c.jpg", "sub/.d.jpg", "sub/e.jpg.part"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "sub", "loop")); err != nil { // a loop back to the root
		t.Skipf("no symbolic links here: %v", err)
	}
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dead")) // a dangling link
	for _, tc := range []struct {
		name string
		seen func() dirSet
	}{
		{"platform", newDirSet},
		{"same file", func() dirSet { return &sameFileSet{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, errs []string
			err := walkDirs(Root{Name: "r", Path: dir}, tc.seen(), func(f Found) error {
				got = append(got, f.Rel)
				return nil
			}, nil, func(path string, err error) { errs = append(errs, path) })
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if want := []string{"a.jpg", "sub/b.jpg"}; !slices.Equal(got, want) {
				t.Errorf("walk found %d files %q, want %q", len(got), got[:min(len(got), 4)], want)
			}
			if len(errs) != 0 {
				t.Errorf("got %d errors, want none; first: %s", len(errs), errs[0])
			}
		})
	}
}

// A folder that holds .nomedia or .nobackup, in any case, is not entered:
// neither its files nor its sub-folders are found, and the walk says why
// once for the folder. A root that holds one yields nothing.
func TestWalk_FolderMarkers(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.jpg", "keep/b.jpg", "chats/.nomedia", "chats/c.jpg", "chats/sub/d.jpg",
		"Private/.NoBackup", "Private/e.jpg", "keep/deep/.nomedia", "keep/deep/f.jpg"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	var got, skipped []string
	err := walk(Root{Name: "r", Path: dir}, func(f Found) error {
		got = append(got, f.Rel)
		return nil
	}, func(rel, reason string) { skipped = append(skipped, rel+": "+reason) }, func(path string, err error) { t.Errorf("%s: %v", path, err) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(skipped)
	if want := []string{"a.jpg", "keep/b.jpg"}; !slices.Equal(got, want) {
		t.Errorf("walk found %q, want %q", got, want)
	}
	if want := []string{"Private: holds .NoBackup", "chats: holds .nomedia", "keep/deep: holds .nomedia"}; !slices.Equal(skipped, want) {
		t.Errorf("skipped %q, want %q", skipped, want)
	}

	os.WriteFile(filepath.Join(dir, ".nobackup"), nil, 0o644)
	got, skipped = nil, nil
	walk(Root{Name: "r", Path: dir}, func(f Found) error {
		got = append(got, f.Rel)
		return nil
	}, func(rel, reason string) { skipped = append(skipped, rel+": "+reason) }, func(string, error) {})
	if len(got) != 0 || !slices.Equal(skipped, []string{": holds .nobackup"}) {
		t.Errorf("root with .nobackup: found %q, skipped %q; want nothing found, the root skipped", got, skipped)
	}
}

// The scanner logs a folder kept out by a marker once at info, however
// often it scans, and backs up its files once the marker is gone.
func TestScanner_FolderMarkerLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"DCIM/a.jpg", "WhatsApp/Media/.nomedia", "WhatsApp/Media/b.jpg"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), jpegOf(t), 0o644)
	}
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var logs bytes.Buffer
	s := &scanner{journal: j, filter: &media.Filter{Kinds: []media.Kind{media.Photo}},
		keys: KeyTemplate{Template: "{root}/{path}"}, log: zerolog.New(&logs).Level(zerolog.InfoLevel)}
	root := Root{Name: "r", Path: dir}
	scan := func() []string {
		var got []string
		if _, err := s.scanRoot(context.Background(), root, func(j job) { got = append(got, j.file.Path) }, func(p string, err error) { t.Errorf("%s: %v", p, err) }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := scan(); !slices.Equal(got, []string{"DCIM/a.jpg"}) {
		t.Errorf("first scan queued %q, want DCIM/a.jpg only", got)
	}
	scan()
	want := `{"level":"info","root":"r","path":"WhatsApp/Media","message":"folder skipped: holds .nomedia"}`
	if n := strings.Count(logs.String(), want); n != 1 {
		t.Errorf("log has %d lines %s, want 1; log:\n%s", n, want, logs.String())
	}
	os.Remove(filepath.Join(dir, "WhatsApp/Media/.nomedia"))
	if got := scan(); !slices.Contains(got, "WhatsApp/Media/b.jpg") {
		t.Errorf("scan after .nomedia went queued %q, want WhatsApp/Media/b.jpg among them", got)
	}
}

// jpegOf returns a small real JPEG.
func jpegOf(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
