package agent

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// readLease is refused while a writer holds the file open, and granted,
// with the file's stat, once it has closed it; readers do not count.
func TestReadLease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jpg")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("half")
	if _, err := readLease(path); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("writer open: got %v, want EAGAIN", err)
	}
	w.WriteString(" and the rest")
	w.Close()
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	fi, err := readLease(path)
	if err != nil {
		t.Fatalf("writer closed, a reader open: got %v, want the lease", err)
	}
	if fi.Size() != 17 {
		t.Errorf("stat under the lease: size %d, want 17", fi.Size())
	}
	// Released: a writer opens it at once (it would wait for a lease
	// still held), and the lease is refused again.
	w, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := readLease(path); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("writer open again: got %v, want EAGAIN", err)
	}
}

// With the system's lease, a file whose writer keeps it open without
// writing for longer than the settle period is not handed over; it is at
// the first look after the close.
func TestSettler_SystemLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLeaseRig(t, 2*time.Second)
		r.s.useLease(true, r.s.log)
		path := filepath.Join(r.dir, "r", "a.jpg")
		r.write("r", "a.jpg")
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.until(5 * time.Second); ok {
			t.Fatal("handed over while the writer held it open")
		}
		w.Close()
		if took, ok := r.until(time.Second); !ok || took > r.s.tick() {
			t.Errorf("after the close: handed over %v after %s, want at the next look", ok, took)
		}
	})
}
