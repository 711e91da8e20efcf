package account

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Replica is a running account service as the store records it, so that
// the replicas on one database can tell whether they agree on their
// public URL, the issuer of their tokens.
type Replica struct {
	Name    string    // its host and listen address
	Issuer  string    // its public_url
	Seen    time.Time // its last heartbeat
	Stopped time.Time // when it stopped cleanly; zero while it runs
}

// ReplicaStore records the replicas (table replicas).
type ReplicaStore interface {
	// JoinReplicas records r (insert or replace by name) unless a
	// replica of another name and another issuer, not stopped, was seen
	// at or after since. It returns the replicas of other names recorded
	// before, and whether it recorded r; when it did, it forgets the
	// replicas of other issuers. Of replicas joining at once, each sees
	// those that joined before it.
	JoinReplicas(ctx context.Context, r Replica, since time.Time) ([]Replica, bool, error)
	// PutReplica records r (insert or replace by name) and forgets the
	// replicas last seen before forget.
	PutReplica(ctx context.Context, r Replica, forget time.Time) error
	// Replicas returns the replicas recorded, by name.
	Replicas(ctx context.Context) ([]Replica, error)
}

// replicaRecent is how long a replica counts as running after its last
// heartbeat: a few of its reloads (keysReloadEvery), so that one slow or
// failed heartbeat does not count.
const replicaRecent = 3 * time.Minute

// replicaForget is how long the store remembers a replica that is no
// longer seen.
const replicaForget = 24 * time.Hour

// IssuerConflictError is returned by JoinReplicas when a replica that is
// running on the same store uses another public URL: the tokens each
// signs would be refused by the other.
type IssuerConflictError struct {
	Issuer  string // this replica's
	Theirs  string // the running replica's
	Replica string // its name
}

func (e *IssuerConflictError) Error() string {
	return fmt.Sprintf("%s differs from %s, which the other replicas on this database use: set the same public_url on every replica", e.Issuer, e.Theirs)
}

// conflicting returns the replica of others that is running since since
// with another issuer than r's, if any.
func conflicting(others []Replica, r Replica, since time.Time) (Replica, bool) {
	for _, o := range others {
		if o.Name != r.Name && o.Issuer != r.Issuer && o.Stopped.IsZero() && !o.Seen.Before(since) {
			return o, true
		}
	}
	return Replica{}, false
}

// Heartbeat keeps this replica's row in the store up to date while it
// runs, and says when a running replica uses another public URL.
type Heartbeat struct {
	store  ReplicaStore
	self   Replica
	log    zerolog.Logger
	every  time.Duration
	now    func() time.Time
	warned string // the conflicting issuer last logged
}

// JoinReplicas records this replica, name with issuer, in store. When
// another replica on the store that was seen within replicaRecent uses
// another issuer, it records nothing and returns an *IssuerConflictError.
// When only replicas no longer running used another one, this replica
// takes over: a deliberate move to a new address, logged as a warning.
func JoinReplicas(ctx context.Context, store ReplicaStore, name, issuer string, log zerolog.Logger) (*Heartbeat, error) {
	h := &Heartbeat{store: store, self: Replica{Name: name, Issuer: issuer}, every: keysReloadEvery, now: time.Now,
		log: log.With().Str("component", "replicas").Logger()}
	now := h.now()
	h.self.Seen = now
	others, ok, err := store.JoinReplicas(ctx, h.self, now.Add(-replicaRecent))
	if err != nil {
		return nil, fmt.Errorf("record this replica: %w", err)
	}
	if c, found := conflicting(others, h.self, now.Add(-replicaRecent)); !ok || found {
		return nil, &IssuerConflictError{Issuer: issuer, Theirs: c.Issuer, Replica: c.Name}
	}
	if before, moved := lastOtherIssuer(others, issuer); moved {
		h.log.Warn().Str("public_url", issuer).Str("was", before.Issuer).Time("last_seen", before.Seen).
			Msg("public_url changed: the replicas on this database used another one, and none of them runs now; tokens issued for the old one are refused")
	}
	return h, nil
}

// lastOtherIssuer returns the replica of others last seen with another
// issuer than issuer, if any.
func lastOtherIssuer(others []Replica, issuer string) (Replica, bool) {
	var last Replica
	for _, o := range others {
		if o.Issuer != issuer && o.Seen.After(last.Seen) {
			last = o
		}
	}
	return last, last.Issuer != ""
}

// Run records a heartbeat every keysReloadEvery until ctx ends. A failed
// heartbeat is logged; so is a running replica with another public URL.
func (h *Heartbeat) Run(ctx context.Context) {
	repeat(ctx, h.every, h.beat, h.log, "record this replica's heartbeat")
}

func (h *Heartbeat) beat(ctx context.Context) error {
	now := h.now()
	h.self.Seen = now
	if err := h.store.PutReplica(ctx, h.self, now.Add(-replicaForget)); err != nil {
		return err
	}
	all, err := h.store.Replicas(ctx)
	if err != nil {
		return err
	}
	c, found := conflicting(all, h.self, now.Add(-replicaRecent))
	if found && c.Issuer != h.warned {
		h.log.Error().Str("replica", c.Name).Err(&IssuerConflictError{Issuer: h.self.Issuer, Theirs: c.Issuer, Replica: c.Name}).
			Msg("another replica on this database uses another public_url: the tokens each signs are refused by the other")
	}
	h.warned = c.Issuer
	return nil
}

// Leave records that this replica stopped cleanly, so that the replicas
// that start next may use another public URL at once.
func (h *Heartbeat) Leave() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := h.now()
	h.self.Seen, h.self.Stopped = now, now
	return h.store.PutReplica(ctx, h.self, now.Add(-replicaForget))
}
