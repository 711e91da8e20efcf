package agent

import (
	"context"
)

// A Backup, and the daemon's workers (Agent.prepare), tell the uploader of
// their next files a window at a time (uploader.Ahead): in account mode
// one grant call prepares the uploads of a whole window while the window
// before is being sent, instead of one call per file. A window is at most aheadFiles files and aheadBytes
// bytes, so that its grants are used well within their lifetime.
const (
	aheadFiles = 50
	aheadBytes = 64 << 20
)

// prepared hands out the jobs of in, each window after the uploader was
// told of it. The channel closes when in does (or ctx ends); in is read
// to its end either way, so that its sender never blocks.
func (b *Backup) prepared(ctx context.Context, in <-chan job) <-chan job {
	windows := make(chan []job, 1)
	out := make(chan job)
	go func() {
		defer close(windows)
		for {
			w, more := window(in)
			if len(w) > 0 {
				if ctx.Err() == nil && b.Keys.Ready() {
					b.Uploader.Ahead(ctx, b.sender.uploadJobs(ctx, w))
				}
				windows <- w
			}
			if !more {
				return
			}
		}
	}()
	go func() {
		defer close(out)
		for w := range windows {
			for _, j := range w {
				if ctx.Err() == nil {
					out <- j
				}
			}
		}
	}()
	return out
}

// window waits for one job of in and takes those already waiting after
// it, up to a window; false once in is closed.
func window(in <-chan job) ([]job, bool) {
	j, ok := <-in
	if !ok {
		return nil, false
	}
	w, size := []job{j}, j.file.Size
	for len(w) < aheadFiles && size < aheadBytes {
		select {
		case j, ok := <-in:
			if !ok {
				return w, false
			}
			w, size = append(w, j), size+j.file.Size
		default:
			return w, true
		}
	}
	return w, true
}
