// Package repeatlog keeps a message that repeats from flooding the log: the
// first one is logged in full, the repeats are counted and reported once
// per interval while they go on.
package repeatlog

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Limiter collapses repeated messages. Messages are the same when their key
// is: a key names what happened without what differs between repeats (the
// file, the attempt), e.g. "retrying: dial tcp 127.0.0.1:9000: connect:
// connection refused". A Limiter is safe for concurrent use.
type Limiter struct {
	log      zerolog.Logger
	interval time.Duration
	mu       sync.Mutex
	seen     map[string]*repeats
}

type repeats struct {
	level zerolog.Level
	n     int // since the last report
}

// New returns a Limiter that logs to log and reports repeats every
// interval (a minute when interval is not positive).
func New(log zerolog.Logger, interval time.Duration) *Limiter {
	if interval <= 0 {
		interval = time.Minute
	}
	return &Limiter{log: log, interval: interval, seen: map[string]*repeats{}}
}

// Event returns an event at level for the first occurrence of key, to be
// filled and sent by the caller, or nil (which logs nothing) for a repeat.
// Every interval while key repeats, one line says how often:
// "KEY (repeated 37 times in the last 1m0s)". A key that did not repeat
// within an interval is logged in full again the next time.
func (l *Limiter) Event(level zerolog.Level, key string) *zerolog.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.seen[key]; ok {
		r.n++
		return nil
	}
	l.seen[key] = &repeats{level: level}
	time.AfterFunc(l.interval, func() { l.report(key) })
	return l.log.WithLevel(level)
}

// report logs how often key repeated in the last interval, and forgets it
// when it did not.
func (l *Limiter) report(key string) {
	l.mu.Lock()
	r := l.seen[key]
	n, level := r.n, r.level
	r.n = 0
	if n == 0 {
		delete(l.seen, key)
	}
	l.mu.Unlock()
	if n == 0 {
		return
	}
	time.AfterFunc(l.interval, func() { l.report(key) })
	l.log.WithLevel(level).Int("repeated", n).Str("period", l.interval.String()).
		Msgf("%s (repeated %d times in the last %s)", key, n, l.interval)
}
