// Package account is cloudkeep's account service: sign-up with email or
// phone and a verification PIN, sign-in with password and a one-time code,
// device approval (RFC 8628), tokens (with OpenID discovery and JWKS), and
// the storage gate: devices reach their owner's files only through the
// short-lived presigned requests it grants.
package account

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store when nothing matches.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by Store.CreateAccount when the email or phone is
// taken.
var ErrExists = errors.New("already exists")

// Account is a person's account.
type Account struct {
	ID           string // numeric, usable as the user name
	Email        string // lower case, or empty
	Phone        string // E.164, or empty
	Region       string // ISO 3166 code
	BirthDate    time.Time
	PasswordHash string
	Created      time.Time
}

// Code is a one-time code sent to an address: a sign-up PIN or a sign-in
// code. Its ID is the flow's handle (signup_id or challenge_id).
type Code struct {
	ID        string
	Purpose   string      // "signup" or "signin"
	Address   string      // where it was sent
	Kind      AddressKind // what Address is: decides how the code is sent
	AccountID string      // signin: whose
	Hash      string      // keyed hash of the code
	Expires   time.Time
	Tries     int       // entries so far (TryCode counts each before comparing)
	Verified  bool      // signup: the PIN was right; the password may be set
	Sent      time.Time // when the current code was sent
	Data      string    // signup: the form, JSON
}

// Device is a connected device.
type Device struct {
	ID           string
	AccountID    string
	Name         string
	ClientID     string
	RefreshHash  string // the current refresh token's hash
	PreviousHash string // the one it replaced: presenting it again after the grace revokes the device
	RefreshUntil time.Time
	Rotated      time.Time // when PreviousHash was replaced
	GracePair    string    // the tokens issued at Rotated, sealed: answered again within the grace
	Created      time.Time
	LastSeen     time.Time
	Revoked      bool
}

// DeviceAuth is a pending RFC 8628 device authorization.
type DeviceAuth struct {
	CodeHash   string // hash of the device_code
	UserCode   string
	ClientID   string
	DeviceName string
	AccountID  string // set when approved
	Status     string // "pending", "approved", "denied", "issued"
	Expires    time.Time
	Interval   time.Duration
	LastPoll   time.Time
}

// Throttle counts sign-in attempts for a key (see Counters.Attempt).
type Throttle struct {
	Key         string
	Failures    int // attempts counted and not forgiven
	LockedUntil time.Time
	Updated     time.Time // the last counted attempt
	Expires     time.Time // when the counter is forgotten
}

// Store keeps the service's state. Every method is safe for concurrent use
// by several service replicas; "not found" is ErrNotFound.
type Store interface {
	CreateAccount(ctx context.Context, a Account) error // ErrExists when email or phone is taken
	AccountByID(ctx context.Context, id string) (Account, error)
	AccountByAddress(ctx context.Context, address string) (Account, error) // email or E.164 phone

	PutCode(ctx context.Context, c Code) error // insert or replace by ID
	Code(ctx context.Context, id string) (Code, error)
	DeleteCode(ctx context.Context, id string) error

	PutDevice(ctx context.Context, d Device) error // insert or update by ID; ErrExists when that would give the account two connected devices of one name
	// AddDevice inserts a new device; ErrExists when a connected device of
	// the account has its name (decided by the store, atomically).
	AddDevice(ctx context.Context, d Device) error
	Device(ctx context.Context, id string) (Device, error)
	DeviceByRefresh(ctx context.Context, hash string) (Device, error) // matches the current or the previous hash
	Devices(ctx context.Context, accountID string) ([]Device, error)

	PutDeviceAuth(ctx context.Context, d DeviceAuth) error // insert or replace by CodeHash
	DeviceAuth(ctx context.Context, codeHash string) (DeviceAuth, error)
	DeviceAuthByUserCode(ctx context.Context, userCode string) (DeviceAuth, error)
	ApprovedDeviceAuths(ctx context.Context, accountID string, now time.Time) ([]DeviceAuth, error) // approved, not yet collected, not expired
	// MoveDeviceAuth changes the status of the authorization from `from`
	// to `to` (setting its account when accountID is not empty) in one
	// statement, unless it expired by now; it reports whether this call
	// made the change, so of two racing calls exactly one wins.
	MoveDeviceAuth(ctx context.Context, codeHash, from, to, accountID string, now time.Time) (bool, error)

	Throttle(ctx context.Context, key string) (Throttle, error) // a zero Throttle when none

	Counters
	SigningKeyStore
	ReplicaStore

	PutSession(ctx context.Context, hash, accountID string, expires time.Time) error
	Session(ctx context.Context, hash string, now time.Time) (string, error) // the account, unless expired
	DeleteSession(ctx context.Context, hash string) error

	Close() error
}
