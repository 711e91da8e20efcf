package storage

import (
	"context"
	"sync"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/auth"
)

// Intent is a whole-object Put about to be made, with the arguments it
// will be made with.
type Intent struct {
	Key    string
	Size   int64
	CRC32C string
	Meta   Meta
	New    bool // a PutNew: the key is believed free
}

// Ahead is a Storage that can prepare Puts before they are made. *Granted
// implements it: in account mode a pass over many small files asks for
// their grants a window at a time, in one call, instead of one call per
// file.
type Ahead interface {
	// PutAhead prepares the Puts of intents. It is only a hint: it returns
	// nothing, and a Put that finds nothing prepared for its exact
	// arguments (the file changed, the grant ran out) asks as usual.
	PutAhead(ctx context.Context, intents []Intent)
}

// AheadOf returns s, or the Storage its Retry wraps, as an Ahead; false
// when it prepares nothing ahead (then hashing files early is no use).
func AheadOf(s Storage) (Ahead, bool) {
	if r, ok := s.(*Retry); ok {
		s = r.Storage
	}
	a, ok := s.(Ahead)
	return a, ok
}

// heldMargin is the lifetime a grant fetched ahead must have left to be
// used: the request must reach the storage before the grant expires.
const heldMargin = 5 * time.Second

// heldFresh is how recent the service's last answer must be for a grant
// fetched ahead to be used. While uploads go, their commits reach the
// service every lingerCommits; a device disconnected in the meantime
// learns it then, and drops its grants, instead of using them for the
// rest of their lifetime.
const heldFresh = time.Second

// PutAhead asks, in one grant call, for the PUT grants of intents and
// holds them for the Puts with the same arguments. A grant signs the key,
// size, CRC32C and metadata, so a file that changed since gets a grant of
// its own, and the storage still checks the bytes against the CRC32C.
//
// Holding grants does not weaken the gate: each one reserves its size
// against the quota when granted (the whole call is refused when they do
// not fit, and the Puts then ask one by one), the reservation of an unused
// one is freed by the service once its URL has expired, and it expires
// within the grant lifetime like any other. A disconnected device's next grant call is
// refused at once, and the device then drops every grant it holds; it
// uses a held grant only within heldFresh of the service's last answer,
// so it finds out within that time.
func (g *Granted) PutAhead(ctx context.Context, intents []Intent) {
	for len(intents) > 0 {
		n := min(len(intents), wire.MaxGrantOps/2) // room for the commits
		ops := make([]wire.Op, n)
		for i, in := range intents[:n] {
			ops[i] = wire.Op{Op: wire.OpPut, Key: in.Key, Size: in.Size, CRC32C: in.CRC32C, Meta: wireMeta(in.Meta), IfAbsent: in.New}
		}
		intents = intents[n:]
		commits := g.batch.takeLater(wire.MaxGrantOps - n) // they ride along
		callCtx, cancel := context.WithTimeoutCause(ctx, grantTimeout, errNoGrant)
		results, err := g.grant(callCtx, append(ops, commits...))
		cancel()
		if err != nil {
			for _, op := range commits {
				g.batch.later(op)
			}
			if !auth.IsSignedOut(err) && ctx.Err() == nil {
				g.log.Debug().Err(err).Int("files", n).Msg("grants ahead refused; asking file by file")
			}
			return
		}
		g.held.put(ops, results[:n], time.Now())
	}
}

// heldGrants are PUT grants fetched ahead, each for one use by the Put
// with the same arguments.
type heldGrants struct {
	mu       sync.Mutex
	grants   map[heldKey]wire.Result
	answered time.Time // the service's last answer to a grant call
}

// heldKey is everything a PUT grant signs.
type heldKey struct {
	key, crc32c string
	size        int64
	meta        wire.Meta
	ifAbsent    bool
}

func keyOf(op wire.Op) heldKey {
	k := heldKey{key: op.Key, crc32c: op.CRC32C, size: op.Size, ifAbsent: op.IfAbsent}
	if op.Meta != nil {
		k.meta = *op.Meta
	}
	return k
}

// put holds the grants of ops, and forgets those expired by now (of files
// that vanished or changed).
func (h *heldGrants) put(ops []wire.Op, results []wire.Result, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.grants == nil {
		h.grants = map[heldKey]wire.Result{}
	}
	for k, r := range h.grants {
		if !r.Expires.After(now) {
			delete(h.grants, k)
		}
	}
	for i, r := range results {
		if r.Error == nil {
			h.grants[keyOf(ops[i])] = r
		}
	}
}

// take removes and returns the grant held for op, when it has heldMargin
// left at now and the service answered within heldFresh.
func (h *heldGrants) take(op wire.Op, now time.Time) (wire.Result, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := keyOf(op)
	r, ok := h.grants[k]
	if !ok {
		return wire.Result{}, false
	}
	delete(h.grants, k)
	return r, r.Expires.After(now.Add(heldMargin)) && now.Sub(h.answered) < heldFresh
}

// heard notes that the service answered a grant call at now.
func (h *heldGrants) heard(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answered = now
}

// drop forgets every grant held.
func (h *heldGrants) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.grants)
}
