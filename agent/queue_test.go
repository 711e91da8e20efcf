package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
)

func jobOf(id, size int64) job {
	return job{file: journal.File{ID: id, Identity: journal.Identity{Size: size}}}
}

func TestQueue_SmallFilesPassBigOnes(t *testing.T) {
	q := newQueue(100, 3)
	ctx := context.Background()
	for i := int64(1); i <= 4; i++ {
		q.push(jobOf(i, 1000)) // four big videos
	}
	q.push(jobOf(10, 5)) // one photo, queued last
	got := []int64{}
	for range 3 {
		j, _ := q.next(ctx)
		got = append(got, j.file.ID)
	}
	// The photo goes first; big files take at most 2 of 3 workers.
	if want := []int64{10, 1, 2}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("order: got %v, want %v", got, want)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if j, ok := q.next(short); ok {
		t.Errorf("a third big file was handed out (%d) while two run on three workers", j.file.ID)
	}
	q.push(jobOf(11, 5))
	if j, ok := q.next(ctx); !ok || j.file.ID != 11 {
		t.Errorf("a photo waited behind the videos: got %d", j.file.ID)
	}
}

func TestQueue_NoFileTwiceAtOnce(t *testing.T) {
	q := newQueue(100, 2)
	ctx := context.Background()
	q.push(jobOf(1, 5))
	q.push(jobOf(1, 5)) // queued already: ignored
	j, _ := q.next(ctx)
	q.push(jobOf(1, 5)) // unchanged, being uploaded: ignored
	if s := q.status(); s.Files != 0 {
		t.Errorf("a job for the file being uploaded, unchanged, was queued: %+v", s)
	}
	q.pushAgain(jobOf(1, 5)) // handed back by its worker (signed out, quota): queued
	if s := q.status(); s.Files != 1 {
		t.Errorf("a job handed back during its upload was not queued: %+v", s)
	}
	q.push(jobOf(1, 6)) // changed again during its upload
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, ok := q.next(short); ok {
		t.Fatal("the same file was handed to a second worker during its upload")
	}
	q.done(j)
	if j, ok := q.next(ctx); !ok || j.file.ID != 1 {
		t.Error("the file changed during its upload was not uploaded again")
	}
	if s := q.status(); s.Files != 0 {
		t.Errorf("status: %+v", s)
	}
}

func TestQueue_Pause(t *testing.T) {
	q := newQueue(100, 1)
	q.setPaused(true)
	q.push(jobOf(1, 5))
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := q.next(short); ok {
		t.Fatal("work handed out while paused")
	}
	q.setPaused(false)
	if _, ok := q.next(context.Background()); !ok {
		t.Fatal("no work after resume")
	}
}

// While the storage does not answer, files wait in the queue; they go out
// as soon as it answers again.
func TestQueue_HeldWhileStorageDown(t *testing.T) {
	q := newQueue(100, 1)
	if !q.setDown(true) || q.setDown(true) {
		t.Fatal("setDown does not report the change once")
	}
	q.push(jobOf(1, 5))
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := q.next(short); ok {
		t.Fatal("work handed out while the storage is down")
	}
	q.setDown(false)
	if _, ok := q.next(context.Background()); !ok {
		t.Fatal("no work once the storage answers")
	}
}

// The retry delay doubles with each failure in a row in this run, up to an
// hour; the journal's attempts (uploads cut by a crash count there too) do
// not lengthen it, and a success starts the count again.
func TestQueue_RetryLater(t *testing.T) {
	q := newQueue(100, 2)
	j := jobOf(1, 5)
	j.file.Attempts = 7 // killed six times during its upload
	fail := func() time.Duration {
		t.Helper()
		q.push(j) // what the retry timer does when it fires
		got, ok := q.next(context.Background())
		if !ok || got.file.ID != 1 {
			t.Fatalf("next: %v %v", got.file.ID, ok)
		}
		d := q.retryLater(j, 30*time.Second)
		q.done(j)
		return d
	}
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got := fail(); got != want {
			t.Errorf("failure %d: retry in %s, want %s", i+1, got, want)
		}
	}
	for range 10 {
		fail()
	}
	if got := fail(); got != time.Hour {
		t.Errorf("after 15 failures: retry in %s, want 1h0m0s", got)
	}
	q.push(j)
	q.next(context.Background())
	q.done(j) // stored
	if got := fail(); got != 30*time.Second {
		t.Errorf("first failure after a success: retry in %s, want 30s", got)
	}
}

// Pause and Resume log a line only when they change the state: repeated
// requests leave the log alone.
func TestAgent_PauseLogsChanges(t *testing.T) {
	var buf bytes.Buffer
	a := &Agent{Log: zerolog.New(&buf), queue: newQueue(100, 1)}
	for range 3 {
		a.Pause()
	}
	for range 3 {
		a.Resume()
	}
	a.Resume()
	if got, want := strings.Count(buf.String(), "\n"), 2; got != want {
		t.Errorf("got %d log lines, want %d:\n%s", got, want, buf.String())
	}
}

// A pause outlasts a restart of the agent (a crash, a reboot) until resumed.
func TestAgent_PauseOutlastsRestart(t *testing.T) {
	state := t.TempDir()
	a := &Agent{Log: zerolog.Nop(), StateDir: state}
	a.Init()
	a.Pause()
	b := &Agent{Log: zerolog.Nop(), StateDir: state}
	b.Init()
	if !b.queue.isPaused() {
		t.Fatal("a new agent is not paused after a pause")
	}
	b.Resume()
	c := &Agent{Log: zerolog.Nop(), StateDir: state}
	c.Init()
	if c.queue.isPaused() {
		t.Fatal("a new agent is paused after a resume")
	}
}

// Once ctx has ended, next hands out no job, even with jobs queued: a
// stopping agent starts no new upload.
func TestQueue_NextAfterStop(t *testing.T) {
	q := newQueue(100, 2)
	q.push(jobOf(1, 10))
	q.push(jobOf(2, 10))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if j, ok := q.next(ctx); ok {
		t.Errorf("got job %d after the stop, want none", j.file.ID)
	}
	if s := q.status(); s.Files != 2 {
		t.Errorf("%d files queued, want the 2 still there", s.Files)
	}
}

// A file whose change was queued while its upload failed is tried by that
// job: no retry of the failed one is set besides.
func TestQueue_RetryLaterWhenChangeQueued(t *testing.T) {
	q := newQueue(100, 2)
	q.push(jobOf(1, 10))
	j, _ := q.next(context.Background())
	changed := jobOf(1, 20)
	q.push(changed) // the file changed during its upload
	if d := q.retryLater(j, time.Minute); d != 0 {
		t.Errorf("retry set in %s, want none: the change is queued", d)
	}
	q.done(j)
	if s := q.status(); s.Files != 1 || s.Retrying != 0 {
		t.Errorf("queue: %d files, %d retrying; want 1 and 0", s.Files, s.Retrying)
	}
}

// A file handed back for a moment (a group member waiting for its main
// photo's key) comes back after the delay, holds no worker meanwhile and
// counts no failure: its next failure waits the first delay.
func TestQueue_Later(t *testing.T) {
	q := newQueue(100, 2)
	j := jobOf(1, 5)
	q.push(j)
	got, _ := q.next(context.Background())
	q.later(got, 50*time.Millisecond)
	q.done(got)
	if s := q.status(); s.Files != 1 || s.Retrying != 0 {
		t.Errorf("status while it waits: %+v, want 1 file, none retrying", s)
	}
	q.push(jobOf(2, 5))
	if other, _ := q.next(context.Background()); other.file.ID != 2 {
		t.Fatalf("next while file 1 waits: file %d, want 2", other.file.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	back, ok := q.next(ctx)
	if !ok || back.file.ID != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("file 1 back: %v %v after %s", back.file.ID, ok, time.Since(start))
	}
	if d := q.retryLater(back, 30*time.Second); d != 30*time.Second {
		t.Errorf("first failure after waiting: retry in %s, want 30s", d)
	}
}
