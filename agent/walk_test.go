package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
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
