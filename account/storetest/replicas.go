package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// testReplicas: a replica joins unless one of another name and issuer,
// not stopped, was seen since the given time; a joining replica forgets
// those of other issuers; of replicas with different issuers joining at
// once exactly one is recorded; PutReplica forgets the long unseen.
func testReplicas(t *testing.T, s account.Store) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	list := func() string {
		t.Helper()
		all, err := s.Replicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range all {
			out = append(out, fmt.Sprintf("%s %s %d %d", r.Name, r.Issuer, r.Seen.Unix(), r.Stopped.Unix()))
		}
		return fmt.Sprint(out)
	}
	join := func(name, issuer string, seen, since int64) string {
		t.Helper()
		others, ok, err := s.JoinReplicas(ctx, account.Replica{Name: name, Issuer: issuer, Seen: at(seen)}, at(since))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%v %d", ok, len(others))
	}
	if got := join("a", "https://a.example", 1000, 820); got != "true 0" {
		t.Errorf("first replica: got %s, want true 0", got)
	}
	if got := join("b", "https://a.example", 1010, 830); got != "true 1" {
		t.Errorf("second replica, same issuer: got %s, want true 1", got)
	}
	if got := join("c", "https://c.example", 1020, 840); got != "false 2" {
		t.Errorf("another issuer while a and b run: got %s, want false 2", got)
	}
	if got := join("a", "https://c.example", 1020, 840); got != "false 1" {
		t.Errorf("a restarted with another issuer while b runs: got %s, want false 1", got)
	}
	want := "[a https://a.example 1000 -62135596800 b https://a.example 1010 -62135596800]"
	if got := list(); got != want {
		t.Errorf("after the refusals: got %s, want %s", got, want)
	}
	if err := s.PutReplica(ctx, account.Replica{Name: "b", Issuer: "https://a.example", Seen: at(1100), Stopped: at(1100)}, at(0)); err != nil {
		t.Fatal(err)
	}
	if got := join("c", "https://c.example", 1190, 1000); got != "false 2" {
		t.Errorf("a seen at the very start of the window: got %s, want false 2", got)
	}
	if got := join("c", "https://c.example", 1191, 1001); got != "true 2" {
		t.Errorf("a no longer seen, b stopped: got %s, want true 2", got)
	}
	if got, want := list(), "[c https://c.example 1191 -62135596800]"; got != want {
		t.Errorf("after the move: got %s, want %s (the old issuer's replicas forgotten)", got, want)
	}
	if err := s.PutReplica(ctx, account.Replica{Name: "d", Issuer: "https://c.example", Seen: at(2000)}, at(1500)); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), "[d https://c.example 2000 -62135596800]"; got != want {
		t.Errorf("after a heartbeat forgetting those seen before 1500: got %s, want %s", got, want)
	}

	var wg sync.WaitGroup
	joined := make([]bool, 8)
	for i := range joined {
		wg.Go(func() {
			_, ok, err := s.JoinReplicas(ctx, account.Replica{Name: fmt.Sprint("r", i), Issuer: fmt.Sprintf("https://%d.example", i), Seen: at(3000)}, at(2900))
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			joined[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, ok := range joined {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("8 replicas of 8 issuers joining at once: %d recorded (%v), want 1", n, joined)
	}
}
