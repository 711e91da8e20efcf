package agent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// queue holds the files waiting for upload in two lanes, so that photos are
// not stuck behind a long video: big files (at least the multipart
// threshold) may take all workers but one. A file is queued once, and never
// handed to two workers at a time: a job for a file already queued or being
// uploaded is dropped, unless the file's identity changed since (then it
// replaces the queued one, or waits for the upload to end). Pausing stops
// handing out work.
type queue struct {
	mu        sync.Mutex
	wake      chan struct{}
	small     []queued
	large     []queued
	queued    map[int64]journal.Identity // file id → waiting in a lane, as queued
	active    map[int64]journal.Identity // file id → being uploaded, as queued
	retrying  map[int64]*time.Timer
	waiting   map[int64]*time.Timer   // file id → handed back for a moment (later): not failed
	preparing map[int64]chan struct{} // file id → closed once its window is prepared
	failures  map[int64]int           // file id → failed uploads in a row, in this run
	threshold int64
	maxLarge  int
	runLarge  int
	paused    bool // by the person (cloudkeep pause)
	held      bool // signed out: nothing can be uploaded
	full      bool // the storage quota is reached: nothing fits until space frees
	stateFull bool // the state disk is full: nothing can be journaled
	down      bool // the storage does not answer: files wait for it
	ruled     bool // a rule of rules: holds uploads (rules.go)

	idle func() // told, q.mu held, whenever the queue is found not busy (thumbnails wait for that); nil: nobody
}

type queued struct {
	job
	since time.Time
}

func newQueue(threshold int64, workers int) *queue {
	return &queue{
		wake:      make(chan struct{}, 1),
		queued:    map[int64]journal.Identity{},
		active:    map[int64]journal.Identity{},
		retrying:  map[int64]*time.Timer{},
		waiting:   map[int64]*time.Timer{},
		preparing: map[int64]chan struct{}{},
		failures:  map[int64]int{},
		threshold: threshold,
		maxLarge:  max(workers-1, 1),
	}
}

// push queues j unless the same file, with the same identity, is queued or
// being uploaded already.
func (q *queue) push(j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id, ok := q.active[j.file.ID]; ok && id.Equal(j.file.Identity) {
		return
	}
	q.add(j)
}

// pushAgain queues j even while it is being uploaded: a job handed back by
// its own worker (it waits for a login, space or room) or by its retry.
func (q *queue) pushAgain(j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.add(j)
}

// add queues j unless the same file, with the same identity, is queued;
// q.mu is held.
func (q *queue) add(j job) {
	if t, ok := q.retrying[j.file.ID]; ok {
		t.Stop()
		delete(q.retrying, j.file.ID)
	}
	if t, ok := q.waiting[j.file.ID]; ok {
		t.Stop()
		delete(q.waiting, j.file.ID)
	}
	if id, ok := q.queued[j.file.ID]; ok {
		if id.Equal(j.file.Identity) {
			return
		}
		q.small = slices.DeleteFunc(q.small, func(e queued) bool { return e.file.ID == j.file.ID })
		q.large = slices.DeleteFunc(q.large, func(e queued) bool { return e.file.ID == j.file.ID })
	}
	q.queued[j.file.ID] = j.file.Identity
	e := queued{job: j, since: time.Now()}
	if j.file.Size >= q.threshold {
		q.large = append(q.large, e)
	} else {
		q.small = append(q.small, e)
	}
	q.signal()
}

// retryLater queues j, whose upload failed, again after a delay: base
// after its first failure in a row, doubling with each further one, up to
// an hour. It returns the delay, or 0 when the file waits already (for its
// retry, or as the job of a change queued while it was uploaded). Only
// failures in this run count: uploads cut short by a stop or a crash (the
// journal's attempts) are not the file's fault, and must not hold it back
// after a restart.
func (q *queue) retryLater(j job, base time.Duration) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.retrying[j.file.ID]; ok {
		return 0
	}
	if _, ok := q.queued[j.file.ID]; ok {
		return 0 // a change of the file queued meanwhile: that job tries it
	}
	q.failures[j.file.ID]++
	delay := base
	for i := 1; i < q.failures[j.file.ID] && delay < time.Hour; i++ {
		delay *= 2
	}
	delay = min(delay, time.Hour)
	q.retrying[j.file.ID] = time.AfterFunc(delay, func() {
		q.mu.Lock()
		delete(q.retrying, j.file.ID)
		q.mu.Unlock()
		q.pushAgain(j)
	})
	return delay
}

// later queues j again after d, without counting a failure: a file that
// may not be sent yet (a group member waiting for its main photo's key)
// holds no worker meanwhile. A job of the file queued since, or its
// retry, takes its place.
func (q *queue) later(j job, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, queued := q.queued[j.file.ID]
	_, retrying := q.retrying[j.file.ID]
	_, waiting := q.waiting[j.file.ID]
	if queued || retrying || waiting {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		q.mu.Lock()
		mine := q.waiting[j.file.ID] == t // t is set: q.mu was held meanwhile
		if mine {
			delete(q.waiting, j.file.ID)
		}
		q.mu.Unlock()
		if mine {
			q.pushAgain(j)
		}
	})
	q.waiting[j.file.ID] = t
}

// next waits for a job; false once ctx has ended, even with jobs queued:
// a stopping agent starts no new upload.
func (q *queue) next(ctx context.Context) (job, bool) {
	for {
		if ctx.Err() != nil {
			return job{}, false
		}
		q.mu.Lock()
		j, ok := q.pick()
		if ok && len(q.small)+len(q.large) > 0 {
			q.signal() // more work for another worker
		}
		q.mu.Unlock()
		if ok {
			return j, true
		}
		select {
		case <-ctx.Done():
			return job{}, false
		case <-q.wake:
		}
	}
}

// pick takes the first small file, else the first big one while the big
// lane has a worker to spare; never a file already being uploaded.
func (q *queue) pick() (job, bool) {
	if q.paused || q.held || q.full || q.stateFull || q.down || q.ruled {
		return job{}, false
	}
	if j, ok := q.take(&q.small); ok {
		return j, true
	}
	if q.runLarge >= q.maxLarge {
		return job{}, false
	}
	j, ok := q.take(&q.large)
	if ok {
		q.runLarge++
	}
	return j, ok
}

func (q *queue) take(lane *[]queued) (job, bool) {
	for i, e := range *lane {
		if _, busy := q.active[e.file.ID]; busy {
			continue
		}
		*lane = append((*lane)[:i], (*lane)[i+1:]...)
		delete(q.queued, e.file.ID)
		q.active[e.file.ID] = e.file.Identity
		return e.job, true
	}
	return job{}, false
}

// window is the window of small files to prepare with j, which a worker
// just took: j and the small files queued right now after it, up to
// aheadFiles files and aheadBytes bytes, but for those in a window
// already. It is nil when j is in one (then ready closes once that window
// is prepared) or big; else the caller prepares it, then closes ready.
func (q *queue) window(j job) (w []job, ready chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ready, ok := q.preparing[j.file.ID]; ok {
		delete(q.preparing, j.file.ID)
		return nil, ready
	}
	if j.file.Size >= q.threshold {
		return nil, nil
	}
	ready = make(chan struct{})
	w, size := []job{j}, j.file.Size
	for _, e := range q.small {
		if len(w) >= aheadFiles || size >= aheadBytes {
			break
		}
		if _, ok := q.preparing[e.file.ID]; !ok {
			q.preparing[e.file.ID] = ready
			w, size = append(w, e.job), size+e.file.Size
		}
	}
	return w, ready
}

// done releases j's worker; unless j is to be tried again or was handed
// back for a moment, its failures are forgotten.
func (q *queue) done(j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.active, j.file.ID)
	_, retrying := q.retrying[j.file.ID]
	if _, waiting := q.waiting[j.file.ID]; !retrying && !waiting {
		delete(q.failures, j.file.ID)
	}
	if j.file.Size >= q.threshold {
		q.runLarge--
	}
	q.signal()
}

// setPaused pauses or resumes the queue and reports whether that changed
// its state.
func (q *queue) setPaused(p bool) bool { return q.set(&q.paused, p) }

// set sets one of the flags that stop handing out work, wakes the workers,
// and reports whether the flag changed.
func (q *queue) set(flag *bool, on bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	changed := *flag != on
	*flag = on
	q.signal()
	return changed
}

func (q *queue) setHeld(h bool) { q.set(&q.held, h) }

// setHeldOnce holds the queue and reports whether it was not held before.
func (q *queue) setHeldOnce() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	was := q.held
	q.held = true
	return !was
}

// setFull holds the queue for lack of space, or lets it go, and reports
// whether that changed anything.
func (q *queue) setFull(f bool) bool { return q.set(&q.full, f) }

// setDown holds the queue while the storage does not answer, or lets it
// go, and reports whether that changed anything.
func (q *queue) setDown(d bool) bool { return q.set(&q.down, d) }

// setRuled holds the queue while a rule of rules: does not allow uploads,
// or lets it go, and reports whether that changed anything.
func (q *queue) setRuled(r bool) bool { return q.set(&q.ruled, r) }

// setStateFull holds the queue while the state disk is full, or lets it go.
func (q *queue) setStateFull(f bool) { q.set(&q.stateFull, f) }

func (q *queue) isPaused() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.paused
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if q.idle != nil && !q.busyLocked() {
		q.idle()
	}
}

// busy reports whether an upload is queued or in flight, or the queue is
// held (paused, signed out, full, storage down, a rule): thumbnails wait
// for it.
// Files waiting for a retry do not count.
func (q *queue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.busyLocked()
}

func (q *queue) busyLocked() bool {
	return len(q.small)+len(q.large)+len(q.active) > 0 || q.paused || q.held || q.full || q.stateFull || q.down || q.ruled
}

// QueueStatus is what is waiting.
type QueueStatus struct {
	Files         int       `json:"files"`
	Bytes         int64     `json:"bytes"`
	Retrying      int       `json:"retrying"`
	OldestPending time.Time `json:"oldest_pending,omitzero"`
}

func (q *queue) status() QueueStatus {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := QueueStatus{Files: len(q.small) + len(q.large) + len(q.waiting), Retrying: len(q.retrying)}
	for _, lane := range [][]queued{q.small, q.large} {
		for _, e := range lane {
			s.Bytes += e.file.Size
			if s.OldestPending.IsZero() || e.since.Before(s.OldestPending) {
				s.OldestPending = e.since
			}
		}
	}
	return s
}
