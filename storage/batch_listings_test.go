package storage

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// TestBatcher_ListingsPerCall: however many listings wait together, a
// grant call carries at most wire.MaxGrantListings of them (the account
// service refuses more); the others go in the next calls, and every
// caller gets its own answer.
func TestBatcher_ListingsPerCall(t *testing.T) {
	var mu sync.Mutex
	var perCall []int
	release := make(chan struct{})
	b := &batcher{send: func(ctx context.Context, ops []wire.Op) ([]wire.Result, error) {
		<-release
		mu.Lock()
		n := 0
		for _, op := range ops {
			if wire.IsListing(op.Op) {
				n++
			}
		}
		perCall = append(perCall, n)
		mu.Unlock()
		res := make([]wire.Result, len(ops))
		for i, op := range ops {
			res[i] = wire.Result{UploadID: op.Prefix + op.Key}
		}
		return res, nil
	}}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	pending := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.pending)
	}
	// A first call is in flight: everything else waits for the next ones.
	wg.Go(func() { b.do(ctx, wire.Op{Op: wire.OpStat, Key: "a/first"}) })
	waitFor(t, func() bool { return pending() == 0 && b.isBusy() })
	for i := range 30 {
		op := wire.Op{Op: wire.OpList, Prefix: fmt.Sprintf("a/%d/", i)}
		switch i % 3 {
		case 1:
			op = wire.Op{Op: wire.OpListParts, Key: fmt.Sprintf("a/%d", i), UploadID: "u"}
		case 2:
			op = wire.Op{Op: wire.OpStat, Key: fmt.Sprintf("a/%d", i)}
		}
		wg.Go(func() {
			res, err := b.do(ctx, op)
			if err == nil && res.UploadID != op.Prefix+op.Key {
				err = fmt.Errorf("op %d answered %q", i, res.UploadID)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	waitFor(t, func() bool { return pending() == 30 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for _, n := range perCall {
		if n > wire.MaxGrantListings {
			t.Errorf("a grant call carried %d listings, want at most %d (calls: %v)", n, wire.MaxGrantListings, perCall)
		}
		total += n
	}
	if total != 20 {
		t.Errorf("%d listings sent, want 20", total)
	}
}

func (b *batcher) isBusy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busy
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
