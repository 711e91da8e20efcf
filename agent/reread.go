package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"time"
)

// rereadMax bounds the files waiting to be read again; beyond it, the next
// scan tries them.
const rereadMax = 10000

// rereads are the files that could not be read or journaled, each with its
// failures in a row and whether it waits for its next try.
type rereads struct {
	mu    sync.Mutex
	files map[string]*reread // path → its tries
}

type reread struct {
	failures int
	waiting  bool
}

// next counts a failure of path and returns the delay before its next try:
// base after the first failure in a row, doubling with each further one,
// up to an hour. It is false when path already waits for a try, or too
// many files do.
func (r *rereads) next(path string, base time.Duration) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files[path]
	switch {
	case f == nil && len(r.files) >= rereadMax:
		return 0, false
	case f == nil:
		f = &reread{}
		r.files[path] = f
	case f.waiting:
		return 0, false
	}
	f.failures++
	f.waiting = true
	delay := base
	for i := 1; i < f.failures && delay < time.Hour; i++ {
		delay *= 2
	}
	return min(delay, time.Hour), true
}

// tried records that path's try began.
func (r *rereads) tried(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.files[path]; f != nil {
		f.waiting = false
	}
}

// forget drops path: it was read.
func (r *rereads) forget(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.files, path)
}

// rereadLater hands the file at path, which could not be read or
// journaled, to the settler again after the failure schedule's delay
// (RetryBase, doubling up to an hour), as a failed upload is: a file made
// readable again is backed up without waiting for the next scan. It
// returns the delay, or false when the file is left to the next scan.
func (a *Agent) rereadLater(ctx context.Context, path string) (time.Duration, bool) {
	r, rel, ok := locate(a.Roots, path)
	if !ok {
		return 0, false
	}
	delay, ok := a.rereads.next(path, a.RetryBase)
	if !ok {
		return 0, false
	}
	time.AfterFunc(delay, func() {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			a.rereads.forget(path) // gone: nothing to read
			return
		}
		a.rereads.tried(path)
		select {
		case a.changes <- change{root: r, abs: path, rel: rel, noWrite: true}:
		case <-ctx.Done():
		}
	})
	return delay, true
}
