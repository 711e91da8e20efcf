package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// testSigningKeys: keys are numbered; a number or an ID is taken once, of
// racing adders exactly one wins, a batch goes in whole or not at all, and
// keys more than keep behind the newest are forgotten.
func testSigningKeys(t *testing.T, s account.Store) {
	key := func(seq int64, id string) account.SigningKey {
		return account.SigningKey{Seq: seq, ID: id, Created: time.Unix(seq*100, 0), Sealed: []byte("sealed " + id + "\x00\xff")}
	}
	ids := func(n int) string {
		got, err := s.SigningKeys(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range got {
			out = append(out, fmt.Sprintf("%d:%s", k.Seq, k.ID))
			if want := key(k.Seq, k.ID); string(k.Sealed) != string(want.Sealed) || !k.Created.Equal(want.Created) {
				t.Errorf("key %s read back as %+v, want %+v", k.ID, k, want)
			}
		}
		return fmt.Sprint(out)
	}
	if got := ids(2); got != "[]" {
		t.Errorf("empty store: got %s, want no key", got)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(1, fmt.Sprintf("first%d", i))}, 2)
			if err != nil {
				t.Errorf("add key 1: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if got, err := s.SigningKeys(ctx, 5); wins.Load() != 1 || err != nil || len(got) != 1 {
		t.Fatalf("20 racing first keys: %d added, %d stored (%v); want 1", wins.Load(), len(got), err)
	}
	first, _ := s.SigningKeys(ctx, 1)
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(2, "b"), key(3, first[0].ID)}, 2); ok || err != nil {
		t.Errorf("a batch with a taken ID: got %v, %v; want false, nil", ok, err)
	}
	if got := ids(5); got != fmt.Sprintf("[1:%s]", first[0].ID) {
		t.Errorf("after the refused batch: got %s, want the first key alone", got)
	}
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(2, "b")}, 2); !ok || err != nil {
		t.Fatalf("key 2: got %v, %v", ok, err)
	}
	if got := ids(2); got != fmt.Sprintf("[1:%s 2:b]", first[0].ID) {
		t.Errorf("two keys: got %s", got)
	}
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(3, "c")}, 2); !ok || err != nil {
		t.Fatalf("key 3: got %v, %v", ok, err)
	}
	if got := ids(5); got != "[2:b 3:c]" {
		t.Errorf("after a third key with keep 2: got %s, want [2:b 3:c]", got)
	}
	if got := ids(1); got != "[3:c]" {
		t.Errorf("newest: got %s, want [3:c]", got)
	}
}
