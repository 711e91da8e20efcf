package account

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Two rotations at once on A while B has not reloaded: B still signs with
// the key it has, two behind the newest, and A, which has loaded the new
// keys, accepts that token, as an agent sent to either by a round-robin
// proxy needs; A publishes every key still accepted.
func TestReplicas_QuickRotationsKeepStaleReplicaTokensValid(t *testing.T) {
	r := replicas(t, 2)
	a, b := r[0], r[1]
	acct := a.signup("quick@example.com", "quick-pass-1")
	tok := a.connect(acct, "quick-pass-1", "quick@example.com", "laptop")
	before := kidOf(t, tok["access_token"].(string))
	for range 2 {
		if err := a.svc.keys.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	code, fromB := b.refresh(tok["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("refresh on B: %d %v", code, fromB)
	}
	stale := fromB["access_token"].(string)
	if kid := kidOf(t, stale); kid != before {
		t.Fatalf("B, not reloaded, signs with %s, want the key it loaded, %s", kid, before)
	}
	if code, msg := a.me(stale); code != 200 {
		t.Errorf("a token B signed with the key it had, on A after two rotations: %d %s, want 200", code, msg)
	}
	if got := a.kids(); len(got) != 3 || got[0] != before {
		t.Errorf("A's JWKS after two rotations at once: %v, want %s and the two new keys", got, before)
	}
	if code, msg := b.me(stale); code != 200 {
		t.Errorf("the same token on B: %d %s, want 200", code, msg)
	}
}

// A superseded key stays until tokens of the longest lifetime any replica
// issues have expired: B, whose access tokens live an hour, keeps the key
// it signed with for an hour after it saw the new one, though A, whose
// tokens live 15 minutes, made the rotation; then every replica retires it.
func TestKeys_RetireAfterTheLongestTokenLifetime(t *testing.T) {
	r := replicas(t, 2)
	a, b := r[0], r[1]
	ctx := context.Background()
	b.svc.keys.ttl = time.Hour
	old := a.kids()[0]
	if err := a.svc.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.keys.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after time.Duration
		want  bool
	}{
		{16 * time.Minute, true},                // past A's 15 minutes and two reloads
		{60*time.Minute + 30*time.Second, true}, // B's hour and two reloads not yet over
		{61*time.Minute + time.Second, false},   // both over
	} {
		clock := &offsetClock{}
		clock.add(c.after)
		a.svc.keys.now = clock.now
		if err := a.svc.keys.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(a.kids(), old); got != c.want {
			t.Errorf("%s after the rotations: A publishes the key B signed with: %v, want %v (JWKS %v)", c.after, got, c.want, a.kids())
		}
	}
	stored, err := a.svc.store.SigningKeys(ctx, 10)
	if err != nil || len(stored) != 2 {
		t.Errorf("keys in the store at the end: %d (%v), want the newest 2", len(stored), err)
	}
}
