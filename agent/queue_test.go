package agent

import (
	"context"
	"testing"
	"time"

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
	q.push(jobOf(1, 5)) // changed again during its upload
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

func TestAgent_RetryDelay(t *testing.T) {
	a := &Agent{RetryBase: 30 * time.Second}
	for attempts, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 4: 4 * time.Minute, 20: time.Hour} {
		if got := a.retryDelay(attempts); got != want {
			t.Errorf("retryDelay(%d) = %s, want %s", attempts, got, want)
		}
	}
}
