package alerts

import (
	"context"
	"sync"
	"time"
)

// maxQueued bounds the alerts that wait for a sender that fails; the
// oldest go first.
const maxQueued = 50

// outbox delivers one sender's alerts in order, trying the first again
// with a growing wait while it fails.
type outbox struct {
	sender Sender
	n      *Notifier
	mu     sync.Mutex
	queue  []Alert
	wake   chan struct{}
}

func newOutbox(s Sender, n *Notifier) *outbox {
	return &outbox{sender: s, n: n, wake: make(chan struct{}, 1)}
}

func (o *outbox) push(a Alert) {
	o.mu.Lock()
	o.queue = append(o.queue, a)
	if len(o.queue) > maxQueued {
		o.n.Log.Warn().Str("sender", o.sender.Name()).Str("cause", o.queue[0].Cause).Msg("alert dropped: too many wait for this sender")
		o.queue = o.queue[1:]
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) first() (Alert, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 {
		return Alert{}, false
	}
	return o.queue[0], true
}

func (o *outbox) pop() {
	o.mu.Lock()
	o.queue = o.queue[1:]
	o.mu.Unlock()
}

// run sends until ctx ends. The first failure of a run of failures is
// logged, then nothing until a send succeeds again.
func (o *outbox) run(ctx context.Context) {
	base, most := o.n.RetryBase, o.n.RetryMax
	if base <= 0 {
		base = 5 * time.Second
	}
	if most < base {
		most = max(base, 10*time.Minute)
	}
	wait, tries := base, 0
	log := o.n.Log.With().Str("sender", o.sender.Name()).Logger()
	for {
		a, ok := o.first()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
				continue
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := o.sender.Send(sctx, a)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if tries > 0 {
				log.Info().Int("tries", tries+1).Str("cause", a.Cause).Msg("alert sent after failures")
			}
			o.pop()
			wait, tries = base, 0
			continue
		}
		if tries == 0 {
			log.Warn().Err(err).Str("cause", a.Cause).Msg("alert not sent; trying again with backoff")
		}
		tries++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, most)
	}
}
