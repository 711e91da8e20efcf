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
// adding a key forgets none.
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
			ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(1, fmt.Sprintf("first%d", i))})
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
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(2, "b"), key(3, first[0].ID)}); ok || err != nil {
		t.Errorf("a batch with a taken ID: got %v, %v; want false, nil", ok, err)
	}
	if got := ids(5); got != fmt.Sprintf("[1:%s]", first[0].ID) {
		t.Errorf("after the refused batch: got %s, want the first key alone", got)
	}
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(2, "b")}); !ok || err != nil {
		t.Fatalf("key 2: got %v, %v", ok, err)
	}
	if got := ids(2); got != fmt.Sprintf("[1:%s 2:b]", first[0].ID) {
		t.Errorf("two keys: got %s", got)
	}
	if ok, err := s.AddSigningKeys(ctx, []account.SigningKey{key(3, "c")}); !ok || err != nil {
		t.Fatalf("key 3: got %v, %v", ok, err)
	}
	if got := ids(5); got != fmt.Sprintf("[1:%s 2:b 3:c]", first[0].ID) {
		t.Errorf("after a third key: got %s, want all three", got)
	}
	if got := ids(1); got != "[3:c]" {
		t.Errorf("newest: got %s, want [3:c]", got)
	}
}

// testRetireSigningKeys: a key is deleted only once its RetireAfter is set
// and past, and never among the newest keep; KeepSigningKey only ever
// moves RetireAfter later.
func testRetireSigningKeys(t *testing.T, s account.Store) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	var keys []account.SigningKey
	for i := range int64(4) {
		keys = append(keys, account.SigningKey{Seq: i + 1, ID: fmt.Sprintf("k%d", i+1), Created: at(i * 100), Sealed: []byte("x")})
	}
	if ok, err := s.AddSigningKeys(ctx, keys); !ok || err != nil {
		t.Fatalf("add: %v, %v", ok, err)
	}
	retire := func(now int64) string {
		t.Helper()
		n, err := s.RetireSigningKeys(ctx, at(now), 2)
		got, err2 := s.SigningKeys(ctx, 10)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		out := fmt.Sprint(n)
		for _, k := range got {
			if k.RetireAfter.IsZero() {
				out += " " + k.ID + "@-"
			} else {
				out += fmt.Sprintf(" %s@%d", k.ID, k.RetireAfter.Unix())
			}
		}
		return out
	}
	if got, want := retire(1e9), "0 k1@- k2@- k3@- k4@-"; got != want {
		t.Errorf("no RetireAfter set: got %s, want %s", got, want)
	}
	for seq, until := range map[int64]int64{1: 1000, 2: 2000, 3: 500} {
		if err := s.KeepSigningKey(ctx, seq, at(until)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KeepSigningKey(ctx, 2, at(1500)); err != nil {
		t.Fatal(err)
	}
	if got, want := retire(999), "0 k1@1000 k2@2000 k3@500 k4@-"; got != want {
		t.Errorf("before any RetireAfter, an earlier one not taken: got %s, want %s", got, want)
	}
	if got, want := retire(1001), "1 k2@2000 k3@500 k4@-"; got != want {
		t.Errorf("after k1's RetireAfter: got %s, want %s", got, want)
	}
	if got, want := retire(3000), "1 k3@500 k4@-"; got != want {
		t.Errorf("past all, keep 2: got %s, want %s (the newest two stay)", got, want)
	}
}
