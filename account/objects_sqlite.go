package account

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
	"github.com/cloudkeep/cloudkeep/media"
)

// objectsSchema is the storage gate's part of the SQLite schema: the object
// index, usage kept current by triggers on it, quotas and reservations.
const objectsSchema = `
CREATE TABLE objects (
	account_id TEXT NOT NULL,
	key        TEXT NOT NULL,
	size       INTEGER NOT NULL,
	etag       TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	mtime      TEXT NOT NULL,
	device     TEXT NOT NULL,
	updated_ns INTEGER NOT NULL,
	PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
CREATE TABLE usage (
	account_id TEXT PRIMARY KEY,
	used       INTEGER NOT NULL,
	objects    INTEGER NOT NULL
);
CREATE TABLE quotas (account_id TEXT PRIMARY KEY, quota INTEGER NOT NULL);
CREATE TABLE reservations (
	account_id TEXT NOT NULL,
	id         TEXT NOT NULL,
	key        TEXT NOT NULL,
	size       INTEGER NOT NULL,
	expires_ns INTEGER NOT NULL,
	PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
CREATE INDEX reservations_expires ON reservations (expires_ns);
CREATE TRIGGER objects_insert AFTER INSERT ON objects BEGIN
	INSERT OR IGNORE INTO usage (account_id, used, objects) VALUES (new.account_id, 0, 0);
	UPDATE usage SET used = used + new.size, objects = objects + 1 WHERE account_id = new.account_id;
END;
CREATE TRIGGER objects_update AFTER UPDATE OF size ON objects BEGIN
	UPDATE usage SET used = used - old.size + new.size WHERE account_id = new.account_id;
END;
CREATE TRIGGER objects_delete AFTER DELETE ON objects BEGIN
	UPDATE usage SET used = used - old.size, objects = objects - 1 WHERE account_id = old.account_id;
END;
`

// Reserve implements ObjectStore in one INSERT … SELECT … WHERE statement:
// the quota check and the insert are one atomic step.
func (s *SQLite) Reserve(ctx context.Context, accountID string, rs []Reservation, defaultQuota int64, now time.Time) (bool, error) {
	if len(rs) == 0 {
		return true, nil
	}
	// The reservations go as one JSON array, so that the statement's text
	// stays the same (and prepared once) whatever their number.
	want := make([][5]any, len(rs))
	for i, r := range rs {
		signed, err := signedText(r.Grant)
		if err != nil {
			return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
		}
		want[i] = [5]any{r.ID, r.Key, r.Size, sqlitedb.Nanos(r.Expires), signed}
	}
	raw, err := json.Marshal(want)
	if err != nil {
		return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
	}
	rows, err := s.query(ctx, reserveQuery, string(raw), accountID, defaultQuota, sqlitedb.Nanos(now))
	if err != nil {
		return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("reserve %d uploads for %s: %w", len(rs), accountID, err)
	}
	rows.Close()
	// Forget reservations long expired (they count for nothing), but for
	// puts still to be counted; at most once a minute, not on every call.
	if next := s.sweepAfter.Load(); now.UnixNano() >= next && s.sweepAfter.CompareAndSwap(next, now.Add(time.Minute).UnixNano()) {
		s.exec(ctx, `DELETE FROM reservations WHERE expires_ns < ? AND id NOT LIKE 'put:%'`, sqlitedb.Nanos(now.Add(-time.Hour)))
	}
	return n > 0, nil
}

// reserveQuery is Reserve's one statement: ?1 the reservations as a JSON
// array of [id, key, size, expires_ns, signed], ?2 the account, ?3 the
// default quota, ?4 now. Live reservations count, and puts until they are
// settled (see counted), except those the request replaces (same ID).
var reserveQuery = `WITH want(id, key, size, expires_ns, signed) AS (
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(?1)),
	lim(q) AS (SELECT coalesce((SELECT quota FROM quotas WHERE account_id = ?2), ?3)),
	cur(n) AS (SELECT coalesce((SELECT used FROM usage WHERE account_id = ?2), 0) +
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = ?2 AND ` + counted("?4") + `), 0) -
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = ?2 AND id IN (SELECT id FROM want)
			AND ` + counted("?4") + `), 0))
	INSERT INTO reservations (account_id, id, key, size, expires_ns, signed)
	SELECT ?2, id, key, size, expires_ns, signed FROM want
	WHERE (SELECT q FROM lim) = 0 OR (SELECT n FROM cur) + (SELECT sum(size) FROM want) <= (SELECT q FROM lim)
	ON CONFLICT (account_id, id) DO UPDATE SET key = excluded.key, size = excluded.size, expires_ns = excluded.expires_ns,
		signed = excluded.signed
	RETURNING id`

// counted is when a reservation counts against the quota, now being the
// parameter named: while it lasts, and for a put until it is settled
// (released, or its object counted as used), expired or not: its object
// may be stored, uncommitted.
func counted(now string) string {
	return `(expires_ns > ` + now + ` OR (id >= 'put:' AND id < 'put;'))`
}

// reservationGrantSchema keeps with a put's reservation what its grant
// signed (JSON of a wire.Object; empty when unknown), so that a commit
// can index the object from a listing, without reading its metadata.
const reservationGrantSchema = `ALTER TABLE reservations ADD COLUMN signed TEXT NOT NULL DEFAULT '';`

// signedText is the signed column's text for g.
func signedText(g *wire.Object) (string, error) {
	if g == nil {
		return "", nil
	}
	b, err := json.Marshal(g)
	return string(b), err
}

// RenameReservation implements ObjectStore.
func (s *SQLite) RenameReservation(ctx context.Context, accountID, from, to string, expires time.Time) error {
	_, err := s.exec(ctx, `UPDATE reservations SET id = ?, expires_ns = ? WHERE account_id = ? AND id = ?`,
		to, sqlitedb.Nanos(expires), accountID, from)
	if err != nil {
		return fmt.Errorf("rename reservation %s: %w", from, err)
	}
	return nil
}

// ReservedSize implements ObjectStore.
func (s *SQLite) ReservedSize(ctx context.Context, accountID, id, key string) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT size FROM reservations WHERE account_id = ? AND id = ? AND key = ?`,
		accountID, id, key).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read reservation %s: %w", id, err)
	}
	return n, nil
}

// ExpiredPuts implements ObjectStore.
func (s *SQLite) ExpiredPuts(ctx context.Context, accountID string, now time.Time, limit int) ([]Reservation, error) {
	rows, err := s.query(ctx, `SELECT id, key, size, expires_ns, signed FROM reservations
		WHERE account_id = ? AND id >= 'put:' AND id < 'put;' AND expires_ns <= ? LIMIT ?`, accountID, sqlitedb.Nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("read expired puts of %s: %w", accountID, err)
	}
	defer rows.Close()
	return scanReservations(rows, accountID)
}

// Reservations implements ObjectStore in one statement, whatever the
// number of IDs (they go as one JSON array).
func (s *SQLite) Reservations(ctx context.Context, accountID string, ids []string) ([]Reservation, error) {
	raw, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("read %d reservations of %s: %w", len(ids), accountID, err)
	}
	rows, err := s.query(ctx, `SELECT id, key, size, expires_ns, signed FROM reservations
		WHERE account_id = ? AND id IN (SELECT value FROM json_each(?))`, accountID, string(raw))
	if err != nil {
		return nil, fmt.Errorf("read %d reservations of %s: %w", len(ids), accountID, err)
	}
	defer rows.Close()
	return scanReservations(rows, accountID)
}

// scanReservations reads rows of id, key, size, expires_ns, signed.
func scanReservations(rows *sql.Rows, accountID string) ([]Reservation, error) {
	var out []Reservation
	for rows.Next() {
		var r Reservation
		var expires int64
		var signed string
		if err := rows.Scan(&r.ID, &r.Key, &r.Size, &expires, &signed); err != nil {
			return nil, fmt.Errorf("read reservations of %s: %w", accountID, err)
		}
		r.Expires = sqlitedb.Time(expires)
		if signed != "" {
			r.Grant = new(wire.Object)
			if err := json.Unmarshal([]byte(signed), r.Grant); err != nil {
				return nil, fmt.Errorf("read reservation %s of %s: %w", r.ID, accountID, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Release implements ObjectStore.
func (s *SQLite) Release(ctx context.Context, accountID, id string) error {
	_, err := s.exec(ctx, `DELETE FROM reservations WHERE account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return fmt.Errorf("release reservation %s: %w", id, err)
	}
	return nil
}

const releaseReservation = `DELETE FROM reservations WHERE account_id = ? AND id = ?`

// objectCaptureSchema adds to the index what the metadata says of the
// photo: when it was taken (the RFC 3339 text, and the UTC instant in Unix
// ns that orders it; 0 when not known), from where, its group and whether
// it is a motion photo. The index on the instant serves a listing of an
// account's photos newest first (ties in key order).
const objectCaptureSchema = `
ALTER TABLE objects ADD COLUMN capture TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN capture_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN capture_source TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN motion INTEGER NOT NULL DEFAULT 0;
CREATE INDEX objects_capture ON objects (account_id, capture_ns, key);`

// objectKindSchema keeps each row's kind (objectKind), rows already
// stored included, and indexes what the gallery reads by: an account's
// photos or videos newest first, a device's files newest first, the
// members of a group, and the devices that have files to show (without
// the thumbnails, which would otherwise be read one by one to find that
// out). The same text serves PostgreSQL.
var objectKindSchema = `
ALTER TABLE objects ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
UPDATE objects SET kind = ` + objectKindSQL() + `;
CREATE INDEX objects_kind ON objects (account_id, kind, capture_ns, key);
CREATE INDEX objects_device ON objects (account_id, device, capture_ns, key);
CREATE INDEX objects_group ON objects (account_id, group_id);
CREATE INDEX objects_device_shown ON objects (account_id, device) WHERE kind != 'hidden';`

// objectKindSQL is objectKind of a row's account_id and key in SQL that
// SQLite and PostgreSQL both read: a part after "<account>/" starting
// with a dot is hidden, else the lower-case extension decides.
func objectKindSQL() string {
	rest := `(CASE WHEN substr(key, 1, length(account_id) + 1) = account_id || '/'
		THEN substr(key, length(account_id) + 2) ELSE key END)`
	var b strings.Builder
	b.WriteString(`CASE WHEN ('/' || ` + rest + `) LIKE '%/.%' THEN '` + KindHidden + `'`)
	for _, k := range []struct {
		kind media.Kind
		name string
	}{{media.Photo, KindPhoto}, {media.Video, KindVideo}, {media.Sidecar, KindSidecar}} {
		var like []string
		for _, ext := range media.Extensions(k.kind) {
			if strings.ContainsAny(ext, `%_'\`) {
				panic("objectKindSQL: extension " + ext + " needs escaping")
			}
			like = append(like, `lower(key) LIKE '%`+ext+`'`)
		}
		b.WriteString("\n\tWHEN " + strings.Join(like, " OR ") + ` THEN '` + k.name + `'`)
	}
	b.WriteString("\n\tELSE '" + KindOther + "' END")
	return b.String()
}

const upsertObject = `INSERT INTO objects (account_id, key, size, etag, sha256, mtime, device, updated_ns,
		capture, capture_ns, capture_source, group_id, motion, kind)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, sha256 = excluded.sha256,
		mtime = excluded.mtime, device = excluded.device, updated_ns = excluded.updated_ns,
		capture = excluded.capture, capture_ns = excluded.capture_ns, capture_source = excluded.capture_source,
		group_id = excluded.group_id, motion = excluded.motion, kind = excluded.kind`

func objectArgs(o StoredObject) []any {
	return []any{o.AccountID, o.Key, o.Size, o.ETag, o.SHA256, o.MTime, o.Device, sqlitedb.Nanos(o.Updated),
		o.Capture, orderNanos(o.Capture, o.MTime), o.CaptureSource, o.Group, o.Motion, objectKind(o.AccountID, o.Key)}
}

// objectCols are the columns IndexedObjects reads, in scanObject's order.
const objectCols = `key, size, etag, sha256, mtime, device, updated_ns, capture, capture_source, group_id, motion, kind`

// scanObject reads a row of objectCols into an object of the account.
func scanObject(row interface{ Scan(...any) error }, accountID string) (StoredObject, error) {
	o := StoredObject{AccountID: accountID}
	var updated int64
	err := row.Scan(&o.Key, &o.Size, &o.ETag, &o.SHA256, &o.MTime, &o.Device, &updated,
		&o.Capture, &o.CaptureSource, &o.Group, &o.Motion, &o.Kind)
	o.Updated = sqlitedb.Time(updated)
	return o, err
}

// PutObject implements ObjectStore.
func (s *SQLite) PutObject(ctx context.Context, o StoredObject, release string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index %s: %w", o.Key, err)
	}
	defer tx.Rollback()
	if _, err := s.txExec(ctx, tx, upsertObject, objectArgs(o)...); err != nil {
		return fmt.Errorf("index %s: %w", o.Key, err)
	}
	if release != "" {
		if _, err := s.txExec(ctx, tx, releaseReservation, o.AccountID, release); err != nil {
			return fmt.Errorf("index %s: %w", o.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index %s: %w", o.Key, err)
	}
	return nil
}

// PutObjects implements ObjectStore.
func (s *SQLite) PutObjects(ctx context.Context, accountID string, objs []StoredObject, release []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index %d objects of %s: %w", len(objs), accountID, err)
	}
	defer tx.Rollback()
	for _, o := range objs {
		if _, err := s.txExec(ctx, tx, upsertObject, objectArgs(o)...); err != nil {
			return fmt.Errorf("index %s: %w", o.Key, err)
		}
	}
	for _, id := range release {
		if _, err := s.txExec(ctx, tx, releaseReservation, accountID, id); err != nil {
			return fmt.Errorf("index %d objects of %s: %w", len(objs), accountID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index %d objects of %s: %w", len(objs), accountID, err)
	}
	return nil
}

// ForgetObject implements ObjectStore; the usage follows by trigger.
func (s *SQLite) ForgetObject(ctx context.Context, accountID, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM objects WHERE account_id = ? AND key = ?`, accountID, key); err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}

// ReplaceObjects implements ObjectStore.
func (s *SQLite) ReplaceObjects(ctx context.Context, accountID string, objs []StoredObject) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recount %s: %w", accountID, err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM objects WHERE account_id = ?`, `DELETE FROM usage WHERE account_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, accountID); err != nil {
			return fmt.Errorf("recount %s: %w", accountID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage (account_id, used, objects) VALUES (?, 0, 0)`, accountID); err != nil {
		return fmt.Errorf("recount %s: %w", accountID, err)
	}
	stmt, err := tx.PrepareContext(ctx, upsertObject)
	if err != nil {
		return fmt.Errorf("recount %s: %w", accountID, err)
	}
	defer stmt.Close()
	for _, o := range objs {
		if _, err := stmt.ExecContext(ctx, objectArgs(o)...); err != nil {
			return fmt.Errorf("recount %s: index %s: %w", accountID, o.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recount %s: %w", accountID, err)
	}
	return nil
}

// IndexedObjects implements ObjectStore.
func (s *SQLite) IndexedObjects(ctx context.Context, accountID, from, to string) ([]StoredObject, error) {
	rows, err := s.query(ctx, `SELECT `+objectCols+` FROM objects
		WHERE account_id = ? AND key >= ? AND key <= ? ORDER BY key`, accountID, from, to)
	if err != nil {
		return nil, fmt.Errorf("read index of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []StoredObject
	for rows.Next() {
		o, err := scanObject(rows, accountID)
		if err != nil {
			return nil, fmt.Errorf("read index of %s: %w", accountID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Usage implements ObjectStore.
func (s *SQLite) Usage(ctx context.Context, accountID string, defaultQuota int64, now time.Time) (Usage, error) {
	var u Usage
	err := s.queryRow(ctx, `SELECT
		coalesce((SELECT used FROM usage WHERE account_id = ?1), 0),
		coalesce((SELECT objects FROM usage WHERE account_id = ?1), 0),
		coalesce((SELECT sum(size) FROM reservations WHERE account_id = ?1 AND `+counted("?2")+`), 0),
		coalesce((SELECT quota FROM quotas WHERE account_id = ?1), ?3)`,
		accountID, sqlitedb.Nanos(now), defaultQuota).Scan(&u.Used, &u.Objects, &u.Reserved, &u.Quota)
	if err != nil && err != sql.ErrNoRows {
		return Usage{}, fmt.Errorf("read usage of %s: %w", accountID, err)
	}
	return u, nil
}

// SetQuota implements ObjectStore.
func (s *SQLite) SetQuota(ctx context.Context, accountID string, quota int64) error {
	_, err := s.exec(ctx, `INSERT INTO quotas (account_id, quota) VALUES (?, ?)
		ON CONFLICT (account_id) DO UPDATE SET quota = excluded.quota`, accountID, quota)
	if err != nil {
		return fmt.Errorf("set quota of %s: %w", accountID, err)
	}
	return nil
}

// AccountIDs implements ObjectStore.
func (s *SQLite) AccountIDs(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM accounts UNION SELECT account_id FROM usage ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
