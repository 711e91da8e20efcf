package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// pgLockAccount takes the transaction's lock on an account's index,
// usage and reservations ($1 the account). SQLite runs one write at a
// time; PostgreSQL runs them at once, each statement on the rows committed
// when it began, so two reservations summing the same usage would both
// pass. Whoever waits for this lock then begins its statement after the
// other's commit, and sees it. 25451 is 0x636b, "ck": the locks' key space.
const pgLockAccount = `SELECT pg_advisory_xact_lock(25451, hashtext($1))`

// locked runs the queued statements of b after pgLockAccount for
// accountID, in one round trip and one implicit transaction: the lock is
// held until the last of them is done.
func (s *Postgres) locked(ctx context.Context, accountID string, b *pgx.Batch) error {
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: pgLockAccount, Arguments: []any{accountID}}}, b.QueuedQueries...)
	return s.pool.SendBatch(ctx, b).Close()
}

// pgReserveSQL is reserveQuery in PostgreSQL's words: $1 … $5 the
// reservations' IDs, keys, sizes, expiries and signed grants as arrays,
// $6 the account, $7 the default quota, $8 now.
var pgReserveSQL = `WITH want(id, key, size, expires_ns, signed) AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])),
	lim(q) AS (SELECT coalesce((SELECT quota FROM quotas WHERE account_id = $6), $7::bigint)),
	cur(n) AS (SELECT coalesce((SELECT used FROM usage WHERE account_id = $6), 0) +
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = $6 AND ` + counted("$8::bigint") + `), 0) -
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = $6 AND id IN (SELECT id FROM want)
			AND ` + counted("$8::bigint") + `), 0))
	INSERT INTO reservations (account_id, id, key, size, expires_ns, signed)
	SELECT $6, id, key, size, expires_ns, signed FROM want
	WHERE (SELECT q FROM lim) = 0 OR (SELECT n FROM cur) + (SELECT sum(size) FROM want) <= (SELECT q FROM lim)
	ON CONFLICT (account_id, id) DO UPDATE SET key = excluded.key, size = excluded.size, expires_ns = excluded.expires_ns,
		signed = excluded.signed`

// Reserve implements ObjectStore: the quota check and the insert are one
// statement, under the account's lock.
func (s *Postgres) Reserve(ctx context.Context, accountID string, rs []Reservation, defaultQuota int64, now time.Time) (bool, error) {
	if len(rs) == 0 {
		return true, nil
	}
	var ids, keys, signed []string
	var sizes, expires []int64
	for _, r := range rs {
		g, err := signedText(r.Grant)
		if err != nil {
			return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
		}
		ids, keys, signed = append(ids, r.ID), append(keys, r.Key), append(signed, g)
		sizes, expires = append(sizes, r.Size), append(expires, sqlitedb.Nanos(r.Expires))
	}
	var n int64
	b := &pgx.Batch{}
	b.Queue(pgReserveSQL, ids, keys, sizes, expires, signed, accountID, defaultQuota, sqlitedb.Nanos(now)).
		Exec(func(tag pgconn.CommandTag) error { n = tag.RowsAffected(); return nil })
	if err := s.locked(ctx, accountID, b); err != nil {
		return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
	}
	// Forget reservations long expired (they count for nothing), but for
	// puts still to be counted; at most once a minute, not on every call.
	if next := s.sweepAfter.Load(); now.UnixNano() >= next && s.sweepAfter.CompareAndSwap(next, now.Add(time.Minute).UnixNano()) {
		s.pool.Exec(ctx, `DELETE FROM reservations WHERE expires_ns < $1 AND id NOT LIKE 'put:%'`, sqlitedb.Nanos(now.Add(-time.Hour)))
	}
	return n > 0, nil
}

// RenameReservation implements ObjectStore.
func (s *Postgres) RenameReservation(ctx context.Context, accountID, from, to string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE reservations SET id = $1, expires_ns = $2 WHERE account_id = $3 AND id = $4`,
		to, sqlitedb.Nanos(expires), accountID, from)
	if err != nil {
		return fmt.Errorf("rename reservation %s: %w", from, err)
	}
	return nil
}

// ReservedSize implements ObjectStore.
func (s *Postgres) ReservedSize(ctx context.Context, accountID, id, key string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT size FROM reservations WHERE account_id = $1 AND id = $2 AND key = $3`,
		accountID, id, key).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read reservation %s: %w", id, err)
	}
	return n, nil
}

// GrantPart implements ObjectStore: the check against the upload's
// reservation and the record of the part are one statement, under the
// account's lock (the parts' sum is over several rows).
func (s *Postgres) GrantPart(ctx context.Context, accountID, uploadID, key string, part int, size int64, now time.Time) (bool, error) {
	var n int64
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO upload_parts (account_id, upload_id, part, size)
	SELECT $1::text, $2::text, $3::int, $4::bigint FROM reservations r
	WHERE r.account_id = $1 AND r.id = 'upload:' || $2 AND r.key = $5 AND r.expires_ns > $6
		AND coalesce((SELECT sum(size) FROM upload_parts WHERE account_id = $1 AND upload_id = $2 AND part != $3), 0) + $4 <= r.size
	ON CONFLICT (account_id, upload_id, part) DO UPDATE SET size = greatest(upload_parts.size, excluded.size)`,
		accountID, uploadID, part, size, key, sqlitedb.Nanos(now)).
		Exec(func(tag pgconn.CommandTag) error { n = tag.RowsAffected(); return nil })
	if err := s.locked(ctx, accountID, b); err != nil {
		return false, fmt.Errorf("grant part %d of %s: %w", part, key, err)
	}
	return n > 0, nil
}

// ExpiredPuts implements ObjectStore.
func (s *Postgres) ExpiredPuts(ctx context.Context, accountID string, now time.Time, limit int) ([]Reservation, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, key, size, expires_ns, signed FROM reservations
		WHERE account_id = $1 AND id >= 'put:' AND id < 'put;' AND expires_ns <= $2 LIMIT $3`, accountID, sqlitedb.Nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("read expired puts of %s: %w", accountID, err)
	}
	return pgReservations(rows, accountID)
}

// Reservations implements ObjectStore.
func (s *Postgres) Reservations(ctx context.Context, accountID string, ids []string) ([]Reservation, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, key, size, expires_ns, signed FROM reservations
		WHERE account_id = $1 AND id = ANY($2)`, accountID, ids)
	if err != nil {
		return nil, fmt.Errorf("read %d reservations of %s: %w", len(ids), accountID, err)
	}
	return pgReservations(rows, accountID)
}

// pgReservations reads rows of id, key, size, expires_ns, signed.
func pgReservations(rows pgx.Rows, accountID string) ([]Reservation, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Reservation, error) {
		var r Reservation
		var expires int64
		var signed string
		if err := row.Scan(&r.ID, &r.Key, &r.Size, &expires, &signed); err != nil {
			return r, err
		}
		r.Expires = sqlitedb.Time(expires)
		if signed != "" {
			r.Grant = new(wire.Object)
			if err := json.Unmarshal([]byte(signed), r.Grant); err != nil {
				return r, fmt.Errorf("reservation %s: %w", r.ID, err)
			}
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read reservations of %s: %w", accountID, err)
	}
	return out, nil
}

// Release implements ObjectStore.
func (s *Postgres) Release(ctx context.Context, accountID, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM reservations WHERE account_id = $1 AND id = $2`, accountID, id); err != nil {
		return fmt.Errorf("release reservation %s: %w", id, err)
	}
	return nil
}

// postgresObjectCaptureSchema is objectCaptureSchema in PostgreSQL's
// words.
const postgresObjectCaptureSchema = `
ALTER TABLE objects ADD COLUMN capture TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN capture_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN capture_source TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN motion BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX objects_capture ON objects (account_id, capture_ns, key);`

const pgUpsertObject = `INSERT INTO objects (account_id, key, size, etag, sha256, mtime, device, updated_ns,
		capture, capture_ns, capture_source, group_id, motion, kind)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	ON CONFLICT (account_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, sha256 = excluded.sha256,
		mtime = excluded.mtime, device = excluded.device, updated_ns = excluded.updated_ns,
		capture = excluded.capture, capture_ns = excluded.capture_ns, capture_source = excluded.capture_source,
		group_id = excluded.group_id, motion = excluded.motion, kind = excluded.kind`

const pgReleaseReservation = `DELETE FROM reservations WHERE account_id = $1 AND id = $2`

// PutObject implements ObjectStore.
func (s *Postgres) PutObject(ctx context.Context, o StoredObject, release string) error {
	var r []string
	if release != "" {
		r = []string{release}
	}
	if err := s.putObjects(ctx, o.AccountID, []StoredObject{o}, r, false); err != nil {
		return fmt.Errorf("index %s: %w", o.Key, err)
	}
	return nil
}

// PutObjects implements ObjectStore.
func (s *Postgres) PutObjects(ctx context.Context, accountID string, objs []StoredObject, release []string) error {
	if err := s.putObjects(ctx, accountID, objs, release, false); err != nil {
		return fmt.Errorf("index %d objects of %s: %w", len(objs), accountID, err)
	}
	return nil
}

// ForgetObject implements ObjectStore; the usage follows by trigger,
// under the account's lock as every change of its usage.
func (s *Postgres) ForgetObject(ctx context.Context, accountID, key string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM objects WHERE account_id = $1 AND key = $2`, accountID, key)
	if err := s.locked(ctx, accountID, b); err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}

// ReplaceObjects implements ObjectStore.
func (s *Postgres) ReplaceObjects(ctx context.Context, accountID string, objs []StoredObject) error {
	if err := s.putObjects(ctx, accountID, objs, nil, true); err != nil {
		return fmt.Errorf("recount %s: %w", accountID, err)
	}
	return nil
}

// putObjects upserts objs and drops the reservations release in one
// transaction under the account's lock; replace first empties the
// account's index and zeroes its usage.
func (s *Postgres) putObjects(ctx context.Context, accountID string, objs []StoredObject, release []string, replace bool) error {
	b := &pgx.Batch{}
	if replace {
		b.Queue(`DELETE FROM objects WHERE account_id = $1`, accountID)
		b.Queue(`INSERT INTO usage (account_id, used, objects) VALUES ($1, 0, 0)
			ON CONFLICT (account_id) DO UPDATE SET used = 0, objects = 0`, accountID)
	}
	for _, o := range objs {
		b.Queue(pgUpsertObject, objectArgs(o)...)
	}
	for _, id := range release {
		b.Queue(pgReleaseReservation, accountID, id)
	}
	return s.locked(ctx, accountID, b)
}

// IndexedObjects implements ObjectStore.
func (s *Postgres) IndexedObjects(ctx context.Context, accountID, from, to string) ([]StoredObject, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+objectCols+` FROM objects
		WHERE account_id = $1 AND key >= $2 AND key <= $3 ORDER BY key`, accountID, from, to)
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", accountID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredObject, error) {
		return scanObject(row, accountID)
	})
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", accountID, err)
	}
	return out, nil
}

// Usage implements ObjectStore.
func (s *Postgres) Usage(ctx context.Context, accountID string, defaultQuota int64, now time.Time) (Usage, error) {
	var u Usage
	err := s.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT used FROM usage WHERE account_id = $1), 0),
		coalesce((SELECT objects FROM usage WHERE account_id = $1), 0),
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = $1 AND `+counted("$2::bigint")+`), 0)::bigint,
		coalesce((SELECT quota FROM quotas WHERE account_id = $1), $3::bigint)`,
		accountID, sqlitedb.Nanos(now), defaultQuota).Scan(&u.Used, &u.Objects, &u.Reserved, &u.Quota)
	if err != nil {
		return Usage{}, fmt.Errorf("read usage of %s: %w", accountID, err)
	}
	return u, nil
}

// SetQuota implements ObjectStore.
func (s *Postgres) SetQuota(ctx context.Context, accountID string, quota int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO quotas (account_id, quota) VALUES ($1, $2)
		ON CONFLICT (account_id) DO UPDATE SET quota = excluded.quota`, accountID, quota)
	if err != nil {
		return fmt.Errorf("set quota of %s: %w", accountID, err)
	}
	return nil
}

// AccountIDs implements ObjectStore.
func (s *Postgres) AccountIDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM accounts UNION SELECT account_id FROM usage ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}
