package alerts

import (
	"context"
	"slices"
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
	name   string
	n      *Notifier
	mu     sync.Mutex
	queue  []Alert
	flying *Alert // being sent
	wake   chan struct{}
}

func newOutbox(s Sender, n *Notifier) *outbox {
	return &outbox{sender: s, name: s.Name(), n: n, wake: make(chan struct{}, 1)}
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

// pop removes a, sent; drop may have removed it already.
func (o *outbox) pop(a Alert) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i := slices.IndexFunc(o.queue, func(q Alert) bool { return same(q, a) }); i >= 0 {
		o.queue = slices.Delete(o.queue, i, i+1)
	}
}

// drop removes the opening of cause, not sent: it is resolved. It
// reports false when that opening is being sent, and may arrive.
func (o *outbox) drop(cause string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.flying != nil && o.flying.Cause == cause && o.flying.State == StateOpen {
		return false
	}
	o.queue = slices.DeleteFunc(o.queue, func(q Alert) bool { return q.Cause == cause && q.State == StateOpen })
	return true
}

func (o *outbox) setFlying(a *Alert) {
	o.mu.Lock()
	o.flying = a
	o.mu.Unlock()
}

func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}

func same(a, b Alert) bool {
	return a.Cause == b.Cause && a.State == b.State && a.Time.Equal(b.Time)
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
		o.setFlying(&a)
		err := o.sender.Send(sctx, a)
		cancel()
		if err == nil {
			if tries > 0 {
				log.Info().Int("tries", tries+1).Str("cause", a.Cause).Msg("alert sent after failures")
			}
			o.pop(a)
			o.n.delivered(context.WithoutCancel(ctx), a, o.name)
			o.setFlying(nil) // only now: a resolution meanwhile is sent too
			wait, tries = base, 0
			continue
		}
		o.setFlying(nil)
		if ctx.Err() != nil {
			return
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
