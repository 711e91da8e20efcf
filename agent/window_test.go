package agent

import (
	"context"
	"slices"
	"testing"
)

// ids returns the file ids of w.
func ids(w []job) []int64 {
	var out []int64
	for _, j := range w {
		out = append(out, j.file.ID)
	}
	return out
}

// A worker prepares the file it took with the small files queued right
// now after it; a file in that window, taken by another worker, waits for
// it; a big file and a lone photo make no wait.
func TestQueue_Window(t *testing.T) {
	q := newQueue(100, 4)
	ctx := context.Background()
	q.push(jobOf(1, 10))
	first, _ := q.next(ctx)
	if w, ready := q.window(first); !slices.Equal(ids(w), []int64{1}) || ready == nil {
		t.Errorf("a lone photo: window %v, want [1] at once", ids(w))
	}

	for i := int64(2); i <= 5; i++ {
		q.push(jobOf(i, 10))
	}
	q.push(jobOf(9, 1000)) // a video: never in a window
	a, _ := q.next(ctx)
	w, ready := q.window(a)
	if got := ids(w); !slices.Equal(got, []int64{2, 3, 4, 5}) {
		t.Fatalf("window %v, want [2 3 4 5]", got)
	}
	b, _ := q.next(ctx)
	wb, readyB := q.window(b)
	if len(wb) != 0 || readyB != ready {
		t.Fatalf("file %d in a window being prepared: window %v, want none and that window's wait", b.file.ID, ids(wb))
	}
	select {
	case <-readyB:
		t.Fatal("the wait ended before the window was prepared")
	default:
	}
	close(ready)
	<-readyB

	for _, want := range []int64{4, 5} { // their window is prepared
		j, _ := q.next(ctx)
		if w, ready := q.window(j); j.file.ID != want || len(w) != 0 || ready != readyB {
			t.Errorf("file %d: window %v, want file %d and no window of its own", j.file.ID, ids(w), want)
		}
	}
	v, _ := q.next(ctx)
	if w, ready := q.window(v); v.file.ID != 9 || len(w) != 0 || ready != nil {
		t.Errorf("a video: window %v, want nothing to prepare or wait for", ids(w))
	}
}

// A window holds at most aheadFiles files and aheadBytes bytes.
func TestQueue_WindowLimits(t *testing.T) {
	q := newQueue(aheadBytes, 4)
	for i := range int64(2 * aheadFiles) {
		q.push(jobOf(i+1, 1))
	}
	j, _ := q.next(context.Background())
	if w, _ := q.window(j); len(w) != aheadFiles {
		t.Errorf("window of %d files, want %d", len(w), aheadFiles)
	}

	q = newQueue(aheadBytes, 4)
	for i := range int64(10) {
		q.push(jobOf(i+1, aheadBytes/4))
	}
	j, _ = q.next(context.Background())
	if w, _ := q.window(j); len(w) != 4 {
		t.Errorf("window of %d files of a quarter of aheadBytes each, want 4", len(w))
	}
}
