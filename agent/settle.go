package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
)

// settler holds changed files back until they are complete.
//
// Without a lease, a file is ready when no event came for the settle
// period and a stat taken then agrees on size, mtime and inode with the
// stat taken at its last event. A file still being written keeps producing
// events, and a writer that pauses longer than the period is caught by the
// stat.
//
// With a lease (Linux, see useLease), a file quiet for leaseQuiet is ready
// as soon as a read lease on it is granted, which Linux does only once
// every writer has closed it, and the same stat check agrees. A file a
// writer keeps open is refused the lease and stays pending while quiet, up
// to leaseHeldCap settle periods after its last event; after that, and for
// files the lease cannot tell about (not the owner, a file system without
// leases), the settle period decides as without a lease.
//
// A lease cannot tell a finished file from the first chunk of a writer that
// closes and opens it again to append (loggers, recorders, chunked
// downloads). A file that changes again within the settle period of being
// handed over by its lease is such a file: it goes by the settle period
// from then on, until it has been quiet for learnForget. The uploader's
// re-stat after an upload remains the net for the rest.
type settler struct {
	settle  time.Duration
	ready   func(Found)                           // a complete file
	gone    func(root Root, rel string, dir bool) // a file or folder no longer there
	pending map[string]*candidate

	lease    func(path string) (fs.FileInfo, error) // readLease; nil: the settle period alone
	leaseOff map[string]time.Time                   // root name → until when its files go by the settle period
	leased   *recent                                // path → when its lease handed it over, for settle
	reopened *recent                                // path → its last event, for learnForget: it goes by the settle period
	log      zerolog.Logger
}

type candidate struct {
	root Root
	rel  string
	last time.Time
	id   journal.Identity
	ok   bool // id holds a stat of a regular file
	slow bool // reopened soon after its last hand-over: the settle period decides
}

const (
	// leaseQuiet is how long a file's events must have stopped before its
	// lease is tried. A few events of one write can be spread over some
	// milliseconds, and some writers close a file and open it again at once
	// (a copy, then its metadata written; a save in two steps): 150 ms is
	// well beyond those gaps, and short enough for a photo to be listed in
	// the bucket within 300 ms of its close.
	leaseQuiet = 150 * time.Millisecond
	// leaseHeldCap is how many settle periods a writer may keep a quiet
	// file open before the file is judged by the settle period alone, as
	// without a lease: a program that never closes a file does not keep it
	// from the backup for ever.
	leaseHeldCap = 10
	// leaseRetry is how long the files of a root go by the settle period
	// alone after one of them could not be leased for another reason than
	// a writer (not the file's owner, a file system without leases).
	leaseRetry = time.Minute
	// learnForget is how long a file learnt to be reopened by its writer
	// must be quiet before its lease is trusted again.
	learnForget = 10 * time.Minute
	// learnMax bounds the paths remembered for learning, each way.
	learnMax = 4096
)

func newSettler(settle time.Duration, ready func(Found), gone func(Root, string, bool)) *settler {
	return &settler{settle: settle, ready: ready, gone: gone, pending: map[string]*candidate{},
		leaseOff: map[string]time.Time{}, log: zerolog.Nop(),
		leased:   newRecent(settle, learnMax),
		reopened: newRecent(learnForget, learnMax)}
}

// useLease, when on and the system has read leases, hands over a quiet file
// once every writer has closed it, without waiting out the settle period.
func (s *settler) useLease(on bool, log zerolog.Logger) {
	if on && leaseSupported {
		s.lease = readLease
	}
	s.log = log.With().Str("component", "settler").Logger()
}

// quiet is how long a file's events must have stopped before it is looked
// at.
func (s *settler) quiet(leased bool) time.Duration {
	if leased {
		return min(leaseQuiet, s.settle)
	}
	return s.settle
}

// tick is how often pending files are looked at: a fraction of the quiet
// time, a finer one with the lease, whose short quiet time is most of a
// photo's way to the bucket. Nothing ticks while nothing is pending.
func (s *settler) tick() time.Duration {
	part := time.Duration(4)
	if s.lease != nil {
		part = 8
	}
	return min(max(s.quiet(s.lease != nil)/part, 10*time.Millisecond), 500*time.Millisecond)
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
	if !c.noWrite && (s.leased.has(c.abs, p.last) || s.reopened.has(c.abs, p.last)) {
		if !s.reopened.has(c.abs, p.last) {
			s.log.Debug().Str("path", c.abs).Dur("settle_ms", s.settle).
				Msg("changed again soon after its upload: judged complete by the settle period from now on")
		}
		s.reopened.put(c.abs, p.last)
		p.slow = true
	}
}

// check hands over every path that is complete.
func (s *settler) check(now time.Time) {
	for abs, p := range s.pending {
		leased := !p.slow && s.leasing(p.root, now)
		if now.Sub(p.last) < s.quiet(leased) {
			continue
		}
		fi, err := os.Stat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			delete(s.pending, abs)
			s.gone(p.root, p.rel, false)
			continue
		case err != nil || !fi.Mode().IsRegular():
			delete(s.pending, abs) // a folder, a device; or unreadable: the rescan retries
			continue
		}
		if leased {
			var closed bool
			if fi, closed = s.closed(abs, p, fi, now); !closed {
				continue
			}
		}
		if p.ok && journal.IdentityOf(fi).Equal(p.id) {
			delete(s.pending, abs)
			if leased {
				s.leased.put(abs, now)
			}
			s.ready(Found{Root: p.root, Rel: p.rel, Abs: abs, Info: fi})
			continue
		}
		p.last, p.id, p.ok = now, journal.IdentityOf(fi), true // still changing without events: wait again
	}
}

// leasing reports whether the files of r are judged by their lease now.
func (s *settler) leasing(r Root, now time.Time) bool {
	return s.lease != nil && !now.Before(s.leaseOff[r.Name])
}

// closed tries the lease of p's file, whose stat is fi, and reports whether
// its writers are done with it, with the stat to compare with the one at
// its last event. A granted lease says yes at once, with the stat taken
// under the lease. A refusal because a writer holds the file says no until
// the file has been quiet for leaseHeldCap settle periods; from then on, as
// when the lease cannot tell or the file cannot be opened, the settle
// period decides.
func (s *settler) closed(abs string, p *candidate, fi fs.FileInfo, now time.Time) (fs.FileInfo, bool) {
	leased, err := s.lease(abs)
	switch {
	case err == nil:
		return leased, true
	case errors.Is(err, syscall.EAGAIN):
		if now.Sub(p.last) < leaseHeldCap*s.settle {
			return nil, false
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, false // gone since the stat: the next look says so
	case isLeaseError(err):
		s.cannotLease(p.root, err, now)
	} // otherwise it cannot be opened (unreadable): the settle period decides for this file
	return fi, now.Sub(p.last) >= s.settle
}

// leaseOp is the Op of the *fs.PathError a lease that is refused returns.
const leaseOp = "lease"

func isLeaseError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Op == leaseOp
}

// cannotLease turns the lease off for the files of r for leaseRetry, and
// says so once per root.
func (s *settler) cannotLease(r Root, err error, now time.Time) {
	_, seen := s.leaseOff[r.Name]
	s.leaseOff[r.Name] = now.Add(leaseRetry)
	if !seen {
		s.log.Debug().Err(err).Str("root", r.Name).Dur("settle_ms", s.settle).
			Msg("cannot take a read lease: files of this root are judged complete by the settle period")
	}
}

func statRegular(path string) (journal.Identity, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return journal.Identity{}, false
	}
	return journal.IdentityOf(fi), true
}

// recent remembers when each of at most max paths was last seen, for ttl.
type recent struct {
	at  map[string]time.Time
	ttl time.Duration
	max int
}

func newRecent(ttl time.Duration, max int) *recent {
	return &recent{at: map[string]time.Time{}, ttl: ttl, max: max}
}

// has reports whether path was seen within ttl before now.
func (r *recent) has(path string, now time.Time) bool {
	t, ok := r.at[path]
	if ok && now.Sub(t) >= r.ttl {
		delete(r.at, path)
		return false
	}
	return ok
}

// put records path as seen at now. When max paths are remembered, those
// older than ttl are forgotten, then, if none was, any one.
func (r *recent) put(path string, now time.Time) {
	if _, ok := r.at[path]; !ok && len(r.at) >= r.max {
		for p, t := range r.at {
			if now.Sub(t) >= r.ttl {
				delete(r.at, p)
			}
		}
		for p := range r.at {
			if len(r.at) < r.max {
				break
			}
			delete(r.at, p)
		}
	}
	r.at[path] = now
}
