package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// settler holds changed files back until they are complete: a file is
// ready when no event came for the settle period and a stat taken then
// agrees on size, mtime and inode with the stat taken at its last event. A
// file still being written keeps producing events, and a writer that pauses
// longer than the period is caught by the stat.
type settler struct {
	settle  time.Duration
	ready   func(Found)                           // a complete file
	gone    func(root Root, rel string, dir bool) // a file or folder no longer there
	pending map[string]*candidate
}

type candidate struct {
	root Root
	rel  string
	last time.Time
	id   journal.Identity
	ok   bool // id holds a stat of a regular file
}

func newSettler(settle time.Duration, ready func(Found), gone func(Root, string, bool)) *settler {
	return &settler{settle: settle, ready: ready, gone: gone, pending: map[string]*candidate{}}
}

// tick is how often pending files are looked at: a fraction of the settle
// period. Nothing ticks while nothing is pending.
func (s *settler) tick() time.Duration {
	return min(max(s.settle/4, 10*time.Millisecond), 500*time.Millisecond)
}

// run settles the changes until ctx ends.
func (s *settler) run(ctx context.Context, changes <-chan change) error {
	var ticker *time.Ticker
	var tickC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if ticker != nil {
				ticker.Stop()
			}
			return nil
		case c := <-changes:
			s.note(c)
		case now := <-tickC:
			s.check(now)
		}
		switch {
		case len(s.pending) > 0 && ticker == nil:
			ticker = time.NewTicker(s.tick())
			tickC = ticker.C
		case len(s.pending) == 0 && ticker != nil:
			ticker.Stop()
			ticker, tickC = nil, nil
		}
	}
}

// note records an event for a path.
func (s *settler) note(c change) {
	if c.dirGone {
		s.gone(c.root, c.rel, true)
		return
	}
	p := s.pending[c.abs]
	if p == nil {
		p = &candidate{root: c.root, rel: c.rel}
		s.pending[c.abs] = p
	}
	p.last = time.Now()
	p.id, p.ok = statRegular(c.abs)
}

// check hands over every path that has been quiet long enough.
func (s *settler) check(now time.Time) {
	for abs, p := range s.pending {
		if now.Sub(p.last) < s.settle {
			continue
		}
		fi, err := os.Stat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			delete(s.pending, abs)
			s.gone(p.root, p.rel, false)
		case err != nil || !fi.Mode().IsRegular():
			delete(s.pending, abs) // a folder, a device; or unreadable: the rescan retries
		case p.ok && journal.IdentityOf(fi).Equal(p.id):
			delete(s.pending, abs)
			s.ready(Found{Root: p.root, Rel: p.rel, Abs: abs, Info: fi})
		default: // still changing without events: wait another period
			p.last, p.id, p.ok = now, journal.IdentityOf(fi), true
		}
	}
}

func statRegular(path string) (journal.Identity, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return journal.Identity{}, false
	}
	return journal.IdentityOf(fi), true
}
