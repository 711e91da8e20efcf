package uploader_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/uploader"
)

// gate lets parts go while it is open.
type gate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{} // closed when open changes
}

func newGate() *gate { return &gate{open: true, ch: make(chan struct{})} }

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
	close(g.ch)
	g.ch = make(chan struct{})
}

func (g *gate) allow(ctx context.Context) error {
	for {
		g.mu.Lock()
		open, ch := g.open, g.ch
		g.mu.Unlock()
		if open {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// partPuts counts the UploadPart requests the server was sent.
func (e *env) partPuts() int {
	n := 0
	for _, r := range e.proxy.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Target, "partNumber=") {
			n++
		}
	}
	return n
}

// closingGate sets a gate on up that closes once after bytes are
// acknowledged, and returns it and the count of bytes acknowledged.
func closingGate(up *uploader.Uploader, after int64) (*gate, *acked) {
	g, sent := newGate(), &acked{}
	var closed sync.Once
	up.Gate(g.allow, func(n int64) {
		if sent.Add(n) >= after {
			closed.Do(func() { g.set(false) })
		}
	})
	return g, sent
}

// acked counts the bytes the server acknowledged.
type acked struct{ atomic.Int64 }

// await waits, at most 10 s, until n bytes are acknowledged.
func (a *acked) await(n int64) {
	for deadline := time.Now().Add(10 * time.Second); a.Load() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// A gate that closes mid-upload stops it after the parts in flight; opened
// again, the upload goes on where it stopped: no part is sent twice.
func TestUploader_GateHoldsBetweenParts(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{PartsInFlight: 2, BandwidthLimit: 20 * MiB})
	g, sent := closingGate(up, 10*MiB) // two parts stored: a rule holds uploads
	const size = 30 * MiB
	path, sum := e.file(t, "v.mp4", size, 51)
	id := e.track(t, path)
	done := make(chan error, 1)
	go func() {
		_, err := up.Upload(context.Background(), uploader.Job{FileID: id, Path: path, Key: "alice/v.mp4"})
		done <- err
	}()
	sent.await(10 * MiB)
	time.Sleep(700 * time.Millisecond) // the part in flight at the closing ends
	held := e.partPuts()
	time.Sleep(500 * time.Millisecond)
	if now := e.partPuts(); now != held {
		t.Fatalf("parts went on while the gate was closed: %d, then %d", held, now)
	}
	if held >= 6 {
		t.Fatalf("all %d parts went despite the gate", held)
	}
	select {
	case err := <-done:
		t.Fatalf("the upload ended while held: %v", err)
	default:
	}
	g.set(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.partPuts(); n != 6 {
		t.Errorf("%d part uploads for 6 parts (%d before the hold), want 6: none sent twice", n, held)
	}
	if sent.Load() != size {
		t.Errorf("acknowledged %d bytes, want %d", sent.Load(), size)
	}
	e.assertObject(t, "alice/v.mp4", sum, size)
	e.assertNoIncomplete(t)
}

// An upload held when its caller stops returns the gate's error; the next
// upload of the file sends only the parts not stored.
func TestUploader_GateStopThenResume(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{PartsInFlight: 1})
	g, sent := closingGate(up, 10*MiB) // two parts stored: a rule holds uploads
	const size = 30 * MiB
	path, sum := e.file(t, "w.mp4", size, 52)
	id := e.track(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := up.Upload(ctx, uploader.Job{FileID: id, Path: path, Key: "alice/w.mp4"})
		done <- err
	}()
	sent.await(10 * MiB)
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("held upload at a stop: got %v, want context.Canceled", err)
	}
	before := e.partPuts()
	g.set(true)
	if _, err := up.Upload(context.Background(), uploader.Job{FileID: id, Path: path, Key: "alice/w.mp4"}); err != nil {
		t.Fatal(err)
	}
	if n := e.partPuts(); n != 6 {
		t.Errorf("%d part uploads for 6 parts (%d before the stop), want 6: none sent twice", n, before)
	}
	e.assertObject(t, "alice/w.mp4", sum, size)
}

func TestUploader_SetBandwidthLimit(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{})
	if got := up.BandwidthLimit(); got != 0 {
		t.Errorf("no limit: got %d", got)
	}
	up.SetBandwidthLimit(2 * MiB)
	if got := up.BandwidthLimit(); got != 2*MiB {
		t.Errorf("after SetBandwidthLimit(2MiB): got %d", got)
	}
	up.SetBandwidthLimit(0)
	if got := up.BandwidthLimit(); got != 0 {
		t.Errorf("after SetBandwidthLimit(0): got %d", got)
	}
}

// A file changed while a rule held its upload: once the gate opens, the
// upload stops at once and starts over with the new content; no part of
// the new content goes into the upload of the old.
func TestUploader_GateFileChangedWhileHeld(t *testing.T) {
	e := newEnv(t)
	up := e.uploader(uploader.Config{PartsInFlight: 1, BandwidthLimit: 20 * MiB})
	g, sent := closingGate(up, 10*MiB) // two parts stored: a rule holds uploads
	const size = 30 * MiB
	path, _ := e.file(t, "c.mp4", size, 53)
	id := e.track(t, path)
	done := make(chan error, 1)
	go func() {
		_, err := up.Upload(context.Background(), uploader.Job{FileID: id, Path: path, Key: "alice/c.mp4"})
		done <- err
	}()
	sent.await(10 * MiB)
	time.Sleep(700 * time.Millisecond) // the part in flight at the closing ends
	held := e.partPuts()

	// Rewritten in place, as dd conv=notrunc does: same size, new mtime.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xAB}, MiB), 20*MiB); err != nil {
		t.Fatal(err)
	}
	f.Close()
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(content))

	g.set(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.partPuts(); n != held+6 {
		t.Errorf("%d part uploads: %d before the hold, then %d; want %d before and 6 of the new content, none of the old after the hold",
			n, held, n-held, held)
	}
	if got, want := sent.Load(), int64(held)*5*MiB+size; got != want {
		t.Errorf("acknowledged %d bytes, want %d", got, want)
	}
	e.assertObject(t, "alice/c.mp4", sum, size)
	e.assertNoIncomplete(t)
}
