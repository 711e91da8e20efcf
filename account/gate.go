package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// GateConfig is how the storage gate reaches the storage.
type GateConfig struct {
	Endpoint     string // host[:port]
	Bucket       string
	Region       string // empty: asked from the server once
	Secure       bool
	AccessKey    string
	SecretKey    string
	GrantTTL     time.Duration // lifetime of presigned requests, 1 s to 60 s
	DefaultQuota int64         // bytes per account; 0 = no limit
}

// Reservation lifetimes: a single PUT must be committed within a few grant
// lifetimes; a multipart upload lives as long as the storage keeps it.
const (
	putReserveGrants  = 3
	minPutReservation = time.Minute
	uploadReservation = 24 * time.Hour
	// controlParallel bounds the storage calls one grant request makes at once.
	controlParallel = 8
)

// Gate is the storage gate: it holds the storage's keys and answers a
// device's grant requests with presigned requests or with the results of
// calls it makes itself, only ever under "<account ID>/".
type Gate struct {
	client *minio.Client
	core   *minio.Core
	cfg    GateConfig
	store  ObjectStore
	log    zerolog.Logger
	now    func() time.Time
}

// NewGate returns a gate that signs with cfg's keys and keeps the index,
// usage and reservations in store.
func NewGate(cfg GateConfig, store ObjectStore, log zerolog.Logger) (*Gate, error) {
	if cfg.GrantTTL < time.Second || cfg.GrantTTL > time.Minute {
		return nil, fmt.Errorf("new storage gate: grant lifetime %s is out of range 1s to 60s", cfg.GrantTTL)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("new storage gate for %s: %w", cfg.Endpoint, err)
	}
	return &Gate{client: client, core: &minio.Core{Client: client}, cfg: cfg, store: store,
		log: log.With().Str("component", "gate").Logger(), now: time.Now}, nil
}

// Caller is who asks for a grant: the account and device of a valid access
// token whose device is still connected.
type Caller struct {
	AccountID string
	DeviceID  string
	Device    string // the device's name
}

// QuotaError refuses a whole grant request that would take the account
// over its quota: Used bytes are stored and Reserved held by uploads in
// progress, of Quota.
type QuotaError struct{ Used, Reserved, Quota int64 }

// Error counts what takes the quota: "storage quota reached (48.9 of 50
// GiB)", or, when uploads in progress hold part of it, "storage quota
// reached (0 B stored and 800 KiB held by uploads in progress, of 1 MiB)".
func (e *QuotaError) Error() string {
	if e.Reserved > 0 {
		return fmt.Sprintf("storage quota reached (%s stored and %s held by uploads in progress, of %s)",
			humanSize(e.Used), humanSize(e.Reserved), humanSize(e.Quota))
	}
	return fmt.Sprintf("storage quota reached (%s)", usedOf(e.Used, e.Quota))
}

// errBadRequest marks a grant request malformed as a whole.
var errBadRequest = errors.New("bad grant request")

// Grant answers req for c: one Result per op, in order. A request that
// would exceed the quota fails as a whole with *QuotaError; a malformed
// request (too many ops, or more than wire.MaxGrantListings listings the
// gate would carry out) with an error wrapping errBadRequest; anything
// else per op.
func (g *Gate) Grant(ctx context.Context, c Caller, req wire.GrantRequest) (wire.GrantResponse, error) {
	if n := len(req.Ops); n == 0 || n > wire.MaxGrantOps {
		return wire.GrantResponse{}, fmt.Errorf("%w: %d ops, want 1 to %d", errBadRequest, n, wire.MaxGrantOps)
	}
	res := make([]wire.Result, len(req.Ops))
	listings := 0
	for i, op := range req.Ops {
		if err := checkOp(c.AccountID, op); err != nil {
			res[i].Error = err
		} else if wire.IsListing(op.Op) {
			listings++
		}
	}
	if listings > wire.MaxGrantListings {
		return wire.GrantResponse{}, fmt.Errorf("%w: %d listings (list, list_parts, list_uploads), want at most %d per request",
			errBadRequest, listings, wire.MaxGrantListings)
	}
	held, err := g.reserve(ctx, c, req.Ops, res)
	if err != nil {
		return wire.GrantResponse{}, err
	}
	g.run(ctx, c, req.Ops, res, held)
	return wire.GrantResponse{Results: res, Usage: g.usageAfter(ctx, c, req.Ops, res)}, nil
}

// usageAfter is the account's use after a request that stored something
// (a commit or a complete went through), for the device to tell its
// person when the account is nearly full; nil otherwise, without a quota,
// or when it cannot be read.
func (g *Gate) usageAfter(ctx context.Context, c Caller, ops []wire.Op, res []wire.Result) *wire.Usage {
	stored := false
	for i, op := range ops {
		stored = stored || (res[i].Error == nil && (op.Op == wire.OpCommit || op.Op == wire.OpComplete))
	}
	if !stored {
		return nil
	}
	u, err := g.Usage(ctx, c.AccountID)
	if err != nil || u.Quota <= 0 {
		return nil
	}
	return &wire.Usage{Used: u.Used, Quota: u.Quota}
}

// run carries out every op not refused yet: presigning at once, storage
// calls a few at a time, the commits together (see commits).
func (g *Gate) run(ctx context.Context, c Caller, ops []wire.Op, res []wire.Result, held map[int]string) {
	var grp errgroup.Group
	grp.SetLimit(controlParallel)
	expires := g.now().Add(g.cfg.GrantTTL)
	var commits []int
	for i, op := range ops {
		if res[i].Error != nil {
			continue
		}
		switch op.Op {
		case wire.OpCommit:
			commits = append(commits, i)
		case wire.OpPut, wire.OpPart, wire.OpGet:
			if op.Op == wire.OpPart {
				if res[i] = g.grantPart(ctx, c, op); res[i].Error != nil {
					continue
				}
			}
			res[i] = g.presign(ctx, c, op, expires)
			if res[i].Error != nil && held[i] != "" {
				g.store.Release(context.WithoutCancel(ctx), c.AccountID, held[i])
			}
		default:
			grp.Go(func() error {
				res[i] = g.control(ctx, c, op, held[i])
				return nil
			})
		}
	}
	if len(commits) > 0 {
		grp.Go(func() error {
			g.commits(ctx, c, ops, commits, res)
			return nil
		})
	}
	grp.Wait()
}

// control makes one storage call for the device.
func (g *Gate) control(ctx context.Context, c Caller, op wire.Op, held string) wire.Result {
	switch op.Op {
	case wire.OpCreate:
		return g.create(ctx, c, op, held)
	case wire.OpListParts:
		return g.listParts(ctx, op)
	case wire.OpComplete:
		return g.complete(ctx, c, op)
	case wire.OpAbort:
		return g.abort(ctx, c, op)
	case wire.OpListUploads:
		return g.listUploads(ctx, op)
	case wire.OpStat:
		return g.stat(ctx, op)
	case wire.OpList:
		return g.list(ctx, c, op)
	case wire.OpCopy:
		return g.copy(ctx, c, op)
	}
	return opError(wire.ErrCodeInvalidOp, "unknown op %q", op.Op)
}

// reserve holds quota space for every put and create of the request in one
// atomic step, and returns the reservation ID per op index.
func (g *Gate) reserve(ctx context.Context, c Caller, ops []wire.Op, res []wire.Result) (map[int]string, error) {
	if err := g.settlePuts(ctx, c); err != nil {
		return nil, err
	}
	now := g.now()
	putUntil := now.Add(max(putReserveGrants*g.cfg.GrantTTL, minPutReservation))
	held := map[int]string{}
	var rs []Reservation
	for i, op := range ops {
		if res[i].Error != nil || (op.Op != wire.OpPut && op.Op != wire.OpCreate) {
			continue
		}
		r := Reservation{ID: putHold(op.Key, op.Size), Key: op.Key, Size: op.Size, Expires: putUntil, Grant: signedPut(op)}
		if op.Op == wire.OpCreate {
			r.ID, r.Expires = "create:"+randomToken(12), now.Add(uploadReservation)
		}
		held[i] = r.ID
		rs = append(rs, r)
	}
	ok, err := g.store.Reserve(ctx, c.AccountID, rs, g.cfg.DefaultQuota, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		u, err := g.store.Usage(ctx, c.AccountID, g.cfg.DefaultQuota, now)
		if err != nil {
			return nil, err
		}
		g.log.Info().Str("account", c.AccountID).Int64("used_bytes", u.Used).Int64("reserved_bytes", u.Reserved).
			Int64("quota_bytes", u.Quota).Msg("grant refused: quota")
		return nil, &QuotaError{Used: u.Used, Reserved: u.Reserved, Quota: u.Quota}
	}
	return held, nil
}

// settlePutsMax bounds the expired puts one grant request settles: as
// many as one request may grant, so that settling keeps up with a device
// that never commits. Those left count as reserved meanwhile.
const settlePutsMax = wire.MaxGrantOps

// settlePuts counts the objects of puts whose grants are over but that the
// device never committed (it crashed, or would store more than its quota
// by not committing), and frees the reservations of puts never made. As
// for commits, the puts of a folder are looked for with one listing, and
// those it finds at their granted size are counted in one transaction;
// the others are settled with a HEAD each, a few at a time.
func (g *Gate) settlePuts(ctx context.Context, c Caller) error {
	rs, err := g.store.ExpiredPuts(ctx, c.AccountID, g.now(), settlePutsMax)
	if err != nil || len(rs) == 0 {
		return err
	}
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	listed := g.listKeys(ctx, c, keys)
	var rows []StoredObject
	var release []string
	var grp errgroup.Group
	grp.SetLimit(controlParallel)
	for _, r := range rs {
		if info, ok := listed[r.Key]; ok && info.Size == r.Size && r.Grant != nil {
			rows = append(rows, g.indexRow(c, grantedObject(r, info)))
			release = append(release, r.ID)
			continue
		}
		grp.Go(func() error { return g.settlePut(ctx, c, r) })
	}
	err = grp.Wait()
	if len(rows) > 0 {
		err = errors.Join(err, g.store.PutObjects(ctx, c.AccountID, rows, release))
		g.log.Debug().Str("account", c.AccountID).Int("objects", len(rows)).Msg("uncommitted puts counted from a listing")
	}
	return err
}

// settlePut counts the object of an expired put grant when the key holds
// an object of the grant's size, and otherwise frees the grant's space:
// its URL can no longer store anything, and an object of another size
// under the key is counted by the grant that stored it.
func (g *Gate) settlePut(ctx context.Context, c Caller, r Reservation) error {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, r.Key, minio.StatObjectOptions{Checksum: true})
	if err == nil && info.Size == r.Size {
		res := g.countInfo(ctx, c, r.Key, info, r.ID)
		if res.Error != nil && res.Error.Code != wire.ErrCodeQuotaExceeded {
			g.log.Warn().Str("account", c.AccountID).Str("key", r.Key).Str("error", res.Error.Message).Msg("count uncommitted put")
		}
		return nil
	}
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		g.log.Warn().Err(err).Str("account", c.AccountID).Str("key", r.Key).Msg("count uncommitted put")
		return nil // kept for the next grant request
	}
	return g.store.Release(ctx, c.AccountID, r.ID)
}

// Usage returns an account's usage under the gate's default quota.
func (g *Gate) Usage(ctx context.Context, accountID string) (Usage, error) {
	return g.store.Usage(ctx, accountID, g.cfg.DefaultQuota, g.now())
}

// SetQuota sets one account's quota (0 = no limit) and returns its usage.
func (g *Gate) SetQuota(ctx context.Context, accountID string, quota int64) (Usage, error) {
	if err := g.store.SetQuota(ctx, accountID, quota); err != nil {
		return Usage{}, err
	}
	return g.Usage(ctx, accountID)
}

func opError(code, format string, args ...any) wire.Result {
	return wire.Result{Error: &wire.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// Check reports whether the bucket exists and the keys may reach it.
func (g *Gate) Check(ctx context.Context) error {
	ok, err := g.client.BucketExists(ctx, g.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("check bucket %s: %w", g.cfg.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("check bucket %s: it does not exist", g.cfg.Bucket)
	}
	return nil
}
