package account

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Postgres is the Store for several service replicas: a PostgreSQL
// database they share, reached through a pool of connections.
//
// Every counter and single-use step is one statement whose result decides
// (INSERT … ON CONFLICT … DO UPDATE … RETURNING, UPDATE or DELETE … WHERE
// … RETURNING), as in SQLite. Under PostgreSQL's READ COMMITTED such a
// statement waits for a racing one on the same row and re-reads it, so
// parallel calls never both see the old value. The steps that decide on a
// sum over several rows (quota reservations, part grants, the object
// index) first take a lock on their account for the transaction.
type Postgres struct {
	pool *pgxpool.Pool
	// sweepAfter is when Reserve next forgets long-expired reservations
	// (Unix ns).
	sweepAfter atomic.Int64
}

var (
	_ Store       = (*Postgres)(nil)
	_ ObjectStore = (*Postgres)(nil)
)

// ApplicationName is the application_name of the service's connections:
// pg_stat_activity shows which sessions are the service's.
const ApplicationName = "cloudkeep-accounts"

// OpenPostgres connects to the database at dsn (a postgres:// URL or a
// key=value string; password, when not empty, replaces the one in dsn)
// and brings its schema up to date. Pool settings go in dsn
// (pool_max_conns=…). A dsn pgx cannot parse is a *StoreConfigError that
// says why, without the password.
func OpenPostgres(ctx context.Context, dsn, password string) (*Postgres, error) {
	return openPostgresAs(ctx, dsn, password, ApplicationName)
}

// openPostgresAs is OpenPostgres with the connections named appName.
func openPostgresAs(ctx context.Context, dsn, password, appName string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, addressError(dsn, err)
	}
	if password != "" {
		cfg.ConnConfig.Password = password
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	where := fmt.Sprintf("%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open accounts database %s: %w", where, err)
	}
	if err := migratePostgres(ctx, pool, postgresMigrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open accounts database %s: %w", where, err)
	}
	return &Postgres{pool: pool}, nil
}

// migrateLock is the advisory lock the migrations hold.
const migrateLock = 0x636b5f6d6967 // "ck_mig"

// migratePostgres brings the schema to len(migrations) in one transaction
// that holds an advisory lock: of replicas starting at once, the first
// migrates, the others wait for it and then find nothing to do.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, migrations []string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("lock the schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
		}
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this cloudkeep knows (%d): upgrade cloudkeep", version, len(migrations))
		}
		for v := version; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(migrations))
		return err
	})
}

// Close closes the pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// pgNotFound is notFound for pgx. A text PostgreSQL cannot hold (one with
// a NUL, from a request: SQLite keeps it) is in no row.
func pgNotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) || unstorable(err) {
		return ErrNotFound
	}
	return err
}

// unstorable reports PostgreSQL's refusal of a text it cannot hold: a NUL.
func unstorable(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "22021" // character_not_in_repertoire
}

// pgExists is ErrExists when err is a unique violation.
func pgExists(err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return ErrExists
	}
	return err
}

func (s *Postgres) CreateAccount(ctx context.Context, a Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (id, email, phone, region, birth_date, password_hash, created_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, nullIfEmpty(a.Email), nullIfEmpty(a.Phone), a.Region,
		a.BirthDate.Format(time.DateOnly), a.PasswordHash, sqlitedb.Nanos(a.Created))
	return pgExists(err)
}

const pgAccountCols = `id, coalesce(email, ''), coalesce(phone, ''), region, birth_date::text, password_hash, created_ns`

func (s *Postgres) AccountByID(ctx context.Context, id string) (Account, error) {
	return scanAccount(pgRow{s.pool.QueryRow(ctx, `SELECT `+pgAccountCols+` FROM accounts WHERE id = $1`, id)})
}

func (s *Postgres) AccountByAddress(ctx context.Context, address string) (Account, error) {
	return scanAccount(pgRow{s.pool.QueryRow(ctx, `SELECT `+pgAccountCols+` FROM accounts WHERE email = $1 OR phone = $1`, address)})
}

// pgRow makes a pgx row look like a database/sql one to the scan
// functions the stores share: pgx.ErrNoRows becomes ErrNotFound.
type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error { return pgNotFound(r.row.Scan(dest...)) }

func (s *Postgres) PutCode(ctx context.Context, c Code) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO codes (id, purpose, address, account_id, hash,
		expires_ns, tries, verified, sent_ns, data, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, address = excluded.address, account_id = excluded.account_id,
		hash = excluded.hash, expires_ns = excluded.expires_ns, tries = excluded.tries, verified = excluded.verified,
		sent_ns = excluded.sent_ns, data = excluded.data, kind = excluded.kind`,
		c.ID, c.Purpose, c.Address, c.AccountID, c.Hash, sqlitedb.Nanos(c.Expires), c.Tries, c.Verified, sqlitedb.Nanos(c.Sent),
		c.Data, string(c.Kind))
	return err
}

func (s *Postgres) Code(ctx context.Context, id string) (Code, error) {
	return scanCode(pgRow{s.pool.QueryRow(ctx, `SELECT `+codeCols+` FROM codes WHERE id = $1`, id)})
}

func (s *Postgres) DeleteCode(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM codes WHERE id = $1`, id)
	if unstorable(err) {
		return nil // in no row
	}
	return err
}

func deviceArgs(d Device) []any {
	return []any{d.ID, d.AccountID, d.Name, d.ClientID, d.RefreshHash, d.PreviousHash, sqlitedb.Nanos(d.RefreshUntil),
		sqlitedb.Nanos(d.Created), sqlitedb.Nanos(d.LastSeen), d.Revoked, sqlitedb.Nanos(d.Rotated), d.GracePair}
}

const pgInsertDevice = `INSERT INTO devices (` + deviceCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

func (s *Postgres) PutDevice(ctx context.Context, d Device) error {
	_, err := s.pool.Exec(ctx, pgInsertDevice+`
		ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, name = excluded.name, client_id = excluded.client_id,
		refresh_hash = excluded.refresh_hash, previous_hash = excluded.previous_hash, refresh_ns = excluded.refresh_ns,
		created_ns = excluded.created_ns, last_seen_ns = excluded.last_seen_ns, revoked = excluded.revoked,
		rotated_ns = excluded.rotated_ns, grace_pair = excluded.grace_pair`, deviceArgs(d)...)
	return pgExists(err) // another connected device of the account has the name
}

// AddDevice implements Store: a plain insert, refused by the unique index
// when a connected device of the account has the name.
func (s *Postgres) AddDevice(ctx context.Context, d Device) error {
	_, err := s.pool.Exec(ctx, pgInsertDevice, deviceArgs(d)...)
	return pgExists(err)
}

func (s *Postgres) Device(ctx context.Context, id string) (Device, error) {
	return scanDevice(pgRow{s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id)})
}

func (s *Postgres) DeviceByRefresh(ctx context.Context, hash string) (Device, error) {
	return scanDevice(pgRow{s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices
		WHERE refresh_hash = $1 OR previous_hash = $1`, hash)})
}

func (s *Postgres) Devices(ctx context.Context, accountID string) ([]Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices WHERE account_id = $1 ORDER BY created_ns, id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Device, error) { return scanDevice(r) })
}

func (s *Postgres) PutDeviceAuth(ctx context.Context, d DeviceAuth) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO device_auths (`+deviceAuthCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (code_hash) DO UPDATE SET user_code = excluded.user_code, client_id = excluded.client_id,
		device_name = excluded.device_name, account_id = excluded.account_id, status = excluded.status,
		expires_ns = excluded.expires_ns, interval_ns = excluded.interval_ns, last_poll_ns = excluded.last_poll_ns`,
		d.CodeHash, d.UserCode, d.ClientID, d.DeviceName, d.AccountID, d.Status, sqlitedb.Nanos(d.Expires), int64(d.Interval),
		sqlitedb.Nanos(d.LastPoll))
	return pgExists(err)
}

// scanDeviceAuthRow reads a row of deviceAuthCols.
func scanDeviceAuthRow(row interface{ Scan(...any) error }) (DeviceAuth, error) {
	var d DeviceAuth
	var expires, interval, poll int64
	err := row.Scan(&d.CodeHash, &d.UserCode, &d.ClientID, &d.DeviceName, &d.AccountID, &d.Status, &expires, &interval, &poll)
	d.Expires, d.Interval, d.LastPoll = sqlitedb.Time(expires), time.Duration(interval), sqlitedb.Time(poll)
	return d, pgNotFound(err)
}

func (s *Postgres) DeviceAuth(ctx context.Context, codeHash string) (DeviceAuth, error) {
	return scanDeviceAuthRow(s.pool.QueryRow(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE code_hash = $1`, codeHash))
}

func (s *Postgres) DeviceAuthByUserCode(ctx context.Context, userCode string) (DeviceAuth, error) {
	return scanDeviceAuthRow(s.pool.QueryRow(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE user_code = $1`, userCode))
}

// ApprovedDeviceAuths implements Store.
func (s *Postgres) ApprovedDeviceAuths(ctx context.Context, accountID string, now time.Time) ([]DeviceAuth, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deviceAuthCols+` FROM device_auths
		WHERE account_id = $1 AND status = 'approved' AND expires_ns > $2 ORDER BY device_name, code_hash`,
		accountID, sqlitedb.Nanos(now))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeviceAuth, error) { return scanDeviceAuthRow(r) })
}

func (s *Postgres) MoveDeviceAuth(ctx context.Context, codeHash, from, to, accountID string, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE device_auths SET status = $1,
		account_id = CASE WHEN $2 = '' THEN account_id ELSE $2 END
		WHERE code_hash = $3 AND status = $4 AND expires_ns > $5`,
		to, accountID, codeHash, from, sqlitedb.Nanos(now))
	if unstorable(err) {
		return false, nil
	}
	return tag.RowsAffected() == 1, err
}

func (s *Postgres) Throttle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	var locked, updated, expires int64
	err := s.pool.QueryRow(ctx, `SELECT failures, locked_ns, updated_ns, expires_ns FROM throttles WHERE key = $1`, key).
		Scan(&t.Failures, &locked, &updated, &expires)
	if errors.Is(pgNotFound(err), ErrNotFound) {
		return t, nil
	}
	t.LockedUntil, t.Updated, t.Expires = sqlitedb.Time(locked), sqlitedb.Time(updated), sqlitedb.Time(expires)
	return t, err
}

func (s *Postgres) PutSession(ctx context.Context, hash, accountID string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, account_id, expires_ns) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET account_id = excluded.account_id, expires_ns = excluded.expires_ns`,
		hash, accountID, sqlitedb.Nanos(expires))
	return err
}

func (s *Postgres) Session(ctx context.Context, hash string, now time.Time) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT account_id FROM sessions WHERE hash = $1 AND expires_ns > $2`, hash, sqlitedb.Nanos(now)).Scan(&id)
	return id, pgNotFound(err)
}

func (s *Postgres) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	if unstorable(err) {
		return nil // in no row
	}
	return err
}
