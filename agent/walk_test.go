package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.jpg", "sub/b.jpg", ".hidden/c.jpg", "sub/.d.jpg", "sub/e.jpg.part"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	os.Symlink(dir, filepath.Join(dir, "sub", "loop"))                 // a loop back to the root
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dead")) // a dangling link
	var got []string
	var errs []string
	err := walk(Root{Name: "r", Path: dir}, func(f Found) error {
		got = append(got, f.Rel)
		return nil
	}, func(path string, err error) { errs = append(errs, path) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a.jpg", "sub/b.jpg"}; !slices.Equal(got, want) {
		t.Errorf("walk found %v, want %v", got, want)
	}
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}
