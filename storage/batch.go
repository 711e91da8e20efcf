package storage

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// batcher coalesces operations into grant calls: the first operation goes
// at once; those that arrive while a call is in flight wait and go
// together in the next one. Operations nobody waits for (commits) ride
// along with the next call (of this batcher, or PutAhead's), or go on
// their own after lingerCommits.
type batcher struct {
	send func(ctx context.Context, ops []wire.Op) ([]wire.Result, error)

	mu      sync.Mutex
	pending []*call
	busy    bool        // a flusher runs
	timer   *time.Timer // flushes lone commits
}

// lingerCommits is how long a commit waits for company.
const lingerCommits = 200 * time.Millisecond

// grantTimeout bounds one grant call.
const grantTimeout = 30 * time.Second

// errNoGrant ends a grant call that took grantTimeout: the account service
// did not answer.
var errNoGrant = NoAnswer(grantTimeout)

type call struct {
	ctx  context.Context // nil for an operation nobody waits for
	op   wire.Op
	done chan struct{}
	res  wire.Result
	err  error
}

// do sends op in the next grant call and waits for its result.
func (b *batcher) do(ctx context.Context, op wire.Op) (wire.Result, error) {
	c := &call{ctx: ctx, op: op, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	b.startLocked()
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return wire.Result{}, ctx.Err()
	}
}

// later queues op for the next grant call without waiting for it.
func (b *batcher) later(op wire.Op) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, &call{op: op, done: make(chan struct{})})
	if !b.busy {
		b.lingerLocked()
	}
}

// lingerLocked sends the pending commits after lingerCommits, unless a
// call takes them along first.
func (b *batcher) lingerLocked() {
	if b.timer != nil {
		return
	}
	b.timer = time.AfterFunc(lingerCommits, func() {
		b.mu.Lock()
		b.timer = nil
		b.startLocked()
		b.mu.Unlock()
	})
}

// takeLater removes up to n pending operations nobody waits for, to ride
// along with a call made outside the batcher.
func (b *batcher) takeLater(n int) []wire.Op {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ops []wire.Op
	rest := b.pending[:0]
	for _, c := range b.pending {
		if c.ctx == nil && len(ops) < n {
			ops = append(ops, c.op)
		} else {
			rest = append(rest, c)
		}
	}
	b.pending = rest
	return ops
}

// flush sends what is pending and waits until nothing is.
func (b *batcher) flush(ctx context.Context) error {
	for {
		b.mu.Lock()
		idle := !b.busy && len(b.pending) == 0
		if !idle {
			b.startLocked()
		}
		b.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (b *batcher) startLocked() {
	if b.busy || len(b.pending) == 0 {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.busy = true
	go b.run()
}

// run sends batches while a caller waits; it sends lone commits once, when
// started for them (their linger is over, or a flush), else leaves them to
// linger.
func (b *batcher) run() {
	for first := true; ; first = false {
		batch := b.take(first)
		if batch == nil {
			return
		}
		ops := make([]wire.Op, len(batch))
		for i, c := range batch {
			ops[i] = c.op
		}
		ctx, cancel := context.WithTimeoutCause(context.Background(), grantTimeout, errNoGrant)
		results, err := b.send(ctx, ops)
		cancel()
		for i, c := range batch {
			if err != nil {
				c.err = err
			} else {
				c.res = results[i]
			}
			close(c.done)
		}
	}
}

// take removes up to MaxGrantOps pending calls whose callers still wait
// (of them up to MaxGrantListings listings), and commits; nil (and not
// busy any more) when there are none, or only commits and not commitsToo.
func (b *batcher) take(commitsToo bool) []*call {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !commitsToo && !slices.ContainsFunc(b.pending, func(c *call) bool { return c.ctx != nil }) {
		b.busy = false
		if len(b.pending) > 0 {
			b.lingerLocked()
		}
		return nil
	}
	var batch []*call
	listings := 0
	rest := b.pending[:0]
	for _, c := range b.pending {
		switch {
		case c.ctx != nil && c.ctx.Err() != nil:
			c.err = c.ctx.Err()
			close(c.done)
		case wire.IsListing(c.op.Op) && listings == wire.MaxGrantListings:
			rest = append(rest, c) // the next call's
		case len(batch) < wire.MaxGrantOps:
			if wire.IsListing(c.op.Op) {
				listings++
			}
			batch = append(batch, c)
		default:
			rest = append(rest, c)
		}
	}
	b.pending = rest
	if len(batch) == 0 {
		b.busy = false
		return nil
	}
	return batch
}
