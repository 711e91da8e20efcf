package account

import (
	"context"
	"time"
)

// SigningKey is a token signing key as the store keeps it: the private key
// sealed with the key-encryption key derived from the service secret, so
// that a copy of the database alone signs nothing.
type SigningKey struct {
	Seq     int64  // 1 for the first key, one more at each rotation
	ID      string // the kid of the tokens it signs
	Created time.Time
	Sealed  []byte // see sealKey
	// RetireAfter is when no token the key signed can still be valid, so
	// that the store may forget it; zero while no replica has seen a newer
	// key.
	RetireAfter time.Time
}

// SigningKeyStore keeps the signing keys every replica signs and verifies
// with (table signing_keys).
type SigningKeyStore interface {
	// SigningKeys returns the newest n keys, oldest first; none when the
	// store has no key yet.
	SigningKeys(ctx context.Context, n int) ([]SigningKey, error)
	// AddSigningKeys inserts keys in one transaction, unless the store
	// has a key of the number or the ID of one of them: then it inserts
	// none and returns false. Of replicas adding key number n at once,
	// exactly one succeeds. It forgets no key.
	AddSigningKeys(ctx context.Context, keys []SigningKey) (bool, error)
	// KeepSigningKey sets the RetireAfter of key number seq to until,
	// unless it is later already: a replica never shortens what another
	// one needs.
	KeepSigningKey(ctx context.Context, seq int64, until time.Time) error
	// RetireSigningKeys deletes the keys whose RetireAfter is set and
	// before now, except the newest keep, and returns how many it deleted.
	RetireSigningKeys(ctx context.Context, now time.Time, keep int) (int64, error)
}
