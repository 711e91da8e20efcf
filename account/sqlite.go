package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// SQLite is the default Store: one SQLite file in WAL mode.
type SQLite struct {
	db    *sql.DB
	stmts stmtCache
	// sweepAfter is when Reserve next forgets long-expired reservations
	// (Unix ns).
	sweepAfter atomic.Int64
}

var sqliteSchema = []string{`
CREATE TABLE accounts (
	id            TEXT PRIMARY KEY,
	email         TEXT UNIQUE,
	phone         TEXT UNIQUE,
	region        TEXT NOT NULL,
	birth_date    TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_ns    INTEGER NOT NULL
);
CREATE TABLE codes (
	id         TEXT PRIMARY KEY,
	purpose    TEXT NOT NULL,
	address    TEXT NOT NULL,
	account_id TEXT NOT NULL,
	hash       TEXT NOT NULL,
	expires_ns INTEGER NOT NULL,
	tries      INTEGER NOT NULL,
	verified   INTEGER NOT NULL,
	sent_ns    INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE TABLE sends (address TEXT NOT NULL, at_ns INTEGER NOT NULL);
CREATE INDEX sends_address ON sends (address, at_ns);
CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	account_id    TEXT NOT NULL,
	name          TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	refresh_hash  TEXT NOT NULL,
	previous_hash TEXT NOT NULL,
	refresh_ns    INTEGER NOT NULL,
	created_ns    INTEGER NOT NULL,
	last_seen_ns  INTEGER NOT NULL,
	revoked       INTEGER NOT NULL
);
CREATE INDEX devices_account ON devices (account_id);
CREATE INDEX devices_refresh ON devices (refresh_hash);
CREATE INDEX devices_previous ON devices (previous_hash);
CREATE TABLE device_auths (
	code_hash   TEXT PRIMARY KEY,
	user_code   TEXT NOT NULL UNIQUE,
	client_id   TEXT NOT NULL,
	device_name TEXT NOT NULL,
	account_id  TEXT NOT NULL,
	status      TEXT NOT NULL,
	expires_ns  INTEGER NOT NULL,
	interval_ns INTEGER NOT NULL,
	last_poll_ns INTEGER NOT NULL
);
CREATE TABLE throttles (
	key         TEXT PRIMARY KEY,
	failures    INTEGER NOT NULL,
	locked_ns   INTEGER NOT NULL,
	updated_ns  INTEGER NOT NULL
);
CREATE TABLE sessions (hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_ns INTEGER NOT NULL);
`, objectsSchema, countersSchema, partsSchema, deviceNamesSchema, reservationGrantSchema, signingKeysSchema,
	retireReplicasSchema, objectCaptureSchema, objectKindSchema, sqliteMTimeOrderSchema}

// OpenSQLite opens (creating if needed) the database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	db, err := sqlitedb.Open(ctx, path, sqliteSchema)
	if err != nil {
		return nil, fmt.Errorf("open accounts database %s: %w", path, err)
	}
	s := &SQLite{db: db}
	if err := s.prepare(ctx, upsertObject, releaseReservation); err != nil {
		db.Close()
		return nil, fmt.Errorf("open accounts database %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func (s *SQLite) CreateAccount(ctx context.Context, a Account) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts (id, email, phone, region, birth_date, password_hash, created_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, nullIfEmpty(a.Email), nullIfEmpty(a.Phone), a.Region,
		a.BirthDate.Format(time.DateOnly), a.PasswordHash, sqlitedb.Nanos(a.Created))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return ErrExists
	}
	return err
}

const accountCols = `id, coalesce(email, ''), coalesce(phone, ''), region, birth_date, password_hash, created_ns`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var birth string
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.Phone, &a.Region, &birth, &a.PasswordHash, &created); err != nil {
		return Account{}, notFound(err)
	}
	a.BirthDate, _ = time.Parse(time.DateOnly, birth)
	a.Created = sqlitedb.Time(created)
	return a, nil
}

func (s *SQLite) AccountByID(ctx context.Context, id string) (Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
}

func (s *SQLite) AccountByAddress(ctx context.Context, address string) (Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = ? OR phone = ?`, address, address))
}

func (s *SQLite) PutCode(ctx context.Context, c Code) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO codes (id, purpose, address, account_id, hash,
		expires_ns, tries, verified, sent_ns, data, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Purpose, c.Address, c.AccountID, c.Hash, sqlitedb.Nanos(c.Expires), c.Tries, c.Verified, sqlitedb.Nanos(c.Sent), c.Data, string(c.Kind))
	return err
}

const codeCols = `id, purpose, address, account_id, hash, expires_ns, tries, verified, sent_ns, data, kind`

func scanCode(row interface{ Scan(...any) error }) (Code, error) {
	var c Code
	var expires, sent int64
	err := row.Scan(&c.ID, &c.Purpose, &c.Address, &c.AccountID, &c.Hash, &expires, &c.Tries, &c.Verified, &sent, &c.Data, &c.Kind)
	c.Expires, c.Sent = sqlitedb.Time(expires), sqlitedb.Time(sent)
	return c, notFound(err)
}

func (s *SQLite) Code(ctx context.Context, id string) (Code, error) {
	return scanCode(s.db.QueryRowContext(ctx, `SELECT `+codeCols+` FROM codes WHERE id = ?`, id))
}

func (s *SQLite) DeleteCode(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM codes WHERE id = ?`, id)
	return err
}

func (s *SQLite) PutDevice(ctx context.Context, d Device) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO devices (id, account_id, name, client_id, refresh_hash,
		previous_hash, refresh_ns, created_ns, last_seen_ns, revoked, rotated_ns, grace_pair) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name, client_id = excluded.client_id,
		refresh_hash = excluded.refresh_hash, previous_hash = excluded.previous_hash, refresh_ns = excluded.refresh_ns,
		created_ns = excluded.created_ns, last_seen_ns = excluded.last_seen_ns, revoked = excluded.revoked,
		rotated_ns = excluded.rotated_ns, grace_pair = excluded.grace_pair`,
		d.ID, d.AccountID, d.Name, d.ClientID, d.RefreshHash, d.PreviousHash, sqlitedb.Nanos(d.RefreshUntil), sqlitedb.Nanos(d.Created),
		sqlitedb.Nanos(d.LastSeen), d.Revoked, sqlitedb.Nanos(d.Rotated), d.GracePair)
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return ErrExists // another connected device of the account has the name
	}
	return err
}

const deviceCols = `id, account_id, name, client_id, refresh_hash, previous_hash, refresh_ns, created_ns, last_seen_ns, revoked, rotated_ns, grace_pair`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var refresh, created, seen, rotated int64
	err := row.Scan(&d.ID, &d.AccountID, &d.Name, &d.ClientID, &d.RefreshHash, &d.PreviousHash, &refresh, &created, &seen, &d.Revoked,
		&rotated, &d.GracePair)
	d.RefreshUntil, d.Created, d.LastSeen = sqlitedb.Time(refresh), sqlitedb.Time(created), sqlitedb.Time(seen)
	d.Rotated = sqlitedb.Time(rotated)
	return d, notFound(err)
}

func (s *SQLite) Device(ctx context.Context, id string) (Device, error) {
	return scanDevice(s.queryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
}

func (s *SQLite) DeviceByRefresh(ctx context.Context, hash string) (Device, error) {
	return scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE refresh_hash = ? OR previous_hash = ?`, hash, hash))
}

func (s *SQLite) Devices(ctx context.Context, accountID string) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE account_id = ? ORDER BY created_ns`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *SQLite) PutDeviceAuth(ctx context.Context, d DeviceAuth) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO device_auths (code_hash, user_code, client_id,
		device_name, account_id, status, expires_ns, interval_ns, last_poll_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code_hash) DO UPDATE SET user_code = excluded.user_code, client_id = excluded.client_id,
		device_name = excluded.device_name, account_id = excluded.account_id, status = excluded.status,
		expires_ns = excluded.expires_ns, interval_ns = excluded.interval_ns, last_poll_ns = excluded.last_poll_ns`,
		d.CodeHash, d.UserCode, d.ClientID, d.DeviceName, d.AccountID, d.Status, sqlitedb.Nanos(d.Expires), int64(d.Interval), sqlitedb.Nanos(d.LastPoll))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return ErrExists
	}
	return err
}

func (s *SQLite) scanDeviceAuth(row *sql.Row) (DeviceAuth, error) {
	var d DeviceAuth
	var expires, interval, poll int64
	err := row.Scan(&d.CodeHash, &d.UserCode, &d.ClientID, &d.DeviceName, &d.AccountID, &d.Status, &expires, &interval, &poll)
	d.Expires, d.Interval, d.LastPoll = sqlitedb.Time(expires), time.Duration(interval), sqlitedb.Time(poll)
	return d, notFound(err)
}

const deviceAuthCols = `code_hash, user_code, client_id, device_name, account_id, status, expires_ns, interval_ns, last_poll_ns`

func (s *SQLite) DeviceAuth(ctx context.Context, codeHash string) (DeviceAuth, error) {
	return s.scanDeviceAuth(s.db.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE code_hash = ?`, codeHash))
}

func (s *SQLite) DeviceAuthByUserCode(ctx context.Context, userCode string) (DeviceAuth, error) {
	return s.scanDeviceAuth(s.db.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE user_code = ?`, userCode))
}

func (s *SQLite) MoveDeviceAuth(ctx context.Context, codeHash, from, to, accountID string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE device_auths SET status = ?,
		account_id = CASE WHEN ? = '' THEN account_id ELSE ? END
		WHERE code_hash = ? AND status = ? AND expires_ns > ?`,
		to, accountID, accountID, codeHash, from, sqlitedb.Nanos(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *SQLite) Throttle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	var locked, updated, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT failures, locked_ns, updated_ns, expires_ns FROM throttles WHERE key = ?`, key).
		Scan(&t.Failures, &locked, &updated, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	t.LockedUntil, t.Updated, t.Expires = sqlitedb.Time(locked), sqlitedb.Time(updated), sqlitedb.Time(expires)
	return t, err
}

func (s *SQLite) PutSession(ctx context.Context, hash, accountID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO sessions (hash, account_id, expires_ns) VALUES (?, ?, ?)`,
		hash, accountID, sqlitedb.Nanos(expires))
	return err
}

func (s *SQLite) Session(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT account_id FROM sessions WHERE hash = ? AND expires_ns > ?`, hash, sqlitedb.Nanos(now)).Scan(&id)
	return id, notFound(err)
}

func (s *SQLite) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}
