package journal

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// errClosed is returned by a write made after Close.
var errClosed = errors.New("journal is closed")

// maxBatch caps how many writes share one transaction.
const maxBatch = 512

// write is one change queued for the committer: fn runs inside the
// transaction of its batch, done receives its outcome once that ended.
type write struct {
	ctx  context.Context
	fn   func(context.Context, *sql.Tx) error
	done chan error
}

// committer is the group commit of the journal's small writes (Track,
// MarkUploading, MarkDone…): one goroutine takes every write queued while
// the previous transaction committed and commits them in one transaction,
// so many files cost one commit instead of one each. A caller waits until
// its own change is committed: nothing is reported done before its row is
// on disk (as far as synchronous=NORMAL goes, see Open).
type committer struct {
	db     *sql.DB
	queue  chan *write
	closed chan struct{}
	exited chan struct{}
	once   sync.Once
	count  atomic.Int64 // transactions committed
}

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, queue: make(chan *write), closed: make(chan struct{}), exited: make(chan struct{})}
	go c.run()
	return c
}

// do runs fn in a transaction shared with other writes queued at the same
// time, and returns once that transaction committed (or fn's error, or
// ctx's when it ended before fn ran).
func (c *committer) do(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.queue <- w:
	case <-c.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-w.done // a batch is short: wait for it even when ctx ends
}

// close stops taking writes and waits for the batch in progress.
func (c *committer) close() {
	c.once.Do(func() { close(c.closed) })
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	for {
		select {
		case <-c.closed:
			return
		case w := <-c.queue:
			c.commit(c.gather(w))
		}
	}
}

// gather returns first with every write already waiting, up to maxBatch.
func (c *committer) gather(first *write) []*write {
	batch := []*write{first}
	for len(batch) < maxBatch {
		select {
		case w := <-c.queue:
			batch = append(batch, w)
		default:
			return batch
		}
	}
	return batch
}

// commit runs batch in one transaction. When a write fails, the
// transaction is rolled back and each write runs again in its own, so
// that one write's error is its own and the others still commit.
func (c *committer) commit(batch []*write) {
	live := batch[:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		if err := c.tx(live); err == nil {
			for _, w := range live {
				w.done <- nil
			}
			return
		}
	}
	for _, w := range live {
		w.done <- c.tx([]*write{w})
	}
}

// tx runs the writes in one transaction, committing when all succeed.
func (c *committer) tx(ws []*write) error {
	ctx := context.Background() // a batch outlives the caller that opened it
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if err := w.fn(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	c.count.Add(1)
	return nil
}
