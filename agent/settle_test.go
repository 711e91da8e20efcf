package agent

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// A file that keeps growing is held back until it stops; a deleted one is
// reported gone.
func TestSettler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		root := Root{Name: "r", Path: dir}
		var ready, gone []string
		s := newSettler(time.Second, func(f Found) { ready = append(ready, f.Rel) },
			func(_ Root, rel string, _ bool) { gone = append(gone, rel) })
		path := filepath.Join(dir, "v.mp4")
		f, _ := os.Create(path)
		defer f.Close()
		ch := change{root: root, abs: path, rel: "v.mp4"}
		for range 5 { // written every 600 ms: never quiet for a second
			f.Write(make([]byte, 1000))
			s.note(ch)
			time.Sleep(600 * time.Millisecond)
			s.check(time.Now())
		}
		if len(ready) != 0 {
			t.Fatalf("a growing file was handed over: %v", ready)
		}
		time.Sleep(time.Second)
		s.check(time.Now())
		if len(ready) != 1 || ready[0] != "v.mp4" {
			t.Fatalf("quiet file: got %v, want [v.mp4]", ready)
		}

		other := filepath.Join(dir, "x.jpg")
		os.WriteFile(other, []byte("x"), 0o644)
		s.note(change{root: root, abs: other, rel: "x.jpg"})
		os.Remove(other)
		time.Sleep(time.Second)
		s.check(time.Now())
		if len(gone) != 1 || gone[0] != "x.jpg" || len(ready) != 1 {
			t.Errorf("deleted file: gone %v, ready %v", gone, ready)
		}
	})
}

// A writer that pauses longer than the settle period without closing is
// caught by the second stat.
func TestSettler_SilentGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "v.mp4")
		os.WriteFile(path, []byte("a"), 0o644)
		var ready int
		s := newSettler(time.Second, func(Found) { ready++ }, func(Root, string, bool) {})
		s.note(change{root: Root{Name: "r", Path: dir}, abs: path, rel: "v.mp4"})
		time.Sleep(500 * time.Millisecond)
		os.WriteFile(path, []byte("ab"), 0o644) // no event reaches the settler
		time.Sleep(600 * time.Millisecond)
		s.check(time.Now())
		if ready != 0 {
			t.Fatal("handed over although the size changed since the event")
		}
		time.Sleep(time.Second)
		s.check(time.Now())
		if ready != 1 {
			t.Errorf("got %d hand-overs, want 1", ready)
		}
	})
}
