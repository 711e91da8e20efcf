package account

import (
	"context"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// countersSchema replaces the log of sends with send budgets, and gives
// throttles, codes and devices what their atomic steps need. Every table
// that unauthenticated calls add rows to has an expiry, indexed for Prune.
const countersSchema = `
DROP TABLE sends;
CREATE TABLE budgets (
	key       TEXT PRIMARY KEY,
	spent     INTEGER NOT NULL,
	resets_ns INTEGER NOT NULL,
	refused   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX budgets_resets ON budgets (resets_ns);
ALTER TABLE throttles ADD COLUMN expires_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE throttles ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
CREATE INDEX throttles_expires ON throttles (expires_ns);
ALTER TABLE codes ADD COLUMN kind TEXT NOT NULL DEFAULT '';
CREATE INDEX codes_expires ON codes (expires_ns);
ALTER TABLE devices ADD COLUMN rotated_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN grace_pair TEXT NOT NULL DEFAULT '';
CREATE INDEX device_auths_expires ON device_auths (expires_ns);
CREATE INDEX sessions_expires ON sessions (expires_ns);
CREATE INDEX accounts_phone_region ON accounts (region) WHERE phone IS NOT NULL;
`

// The parts of attemptSQL. Parameters: ?1 key, ?2 now, ?3 expiry of the
// counter, ?4 CaptchaAfter, ?5 solved, ?6 the lock of a first attempt,
// ?7 LockAfter, ?8 LockFirst, ?9 LockMax. In an upsert's SET, columns are
// the row before the statement.
const (
	attemptLive    = `throttles.expires_ns > ?2`
	attemptOld     = `(CASE WHEN ` + attemptLive + ` THEN throttles.failures ELSE 0 END)`
	attemptRefused = `(CASE WHEN ` + attemptLive + ` AND throttles.locked_ns > ?2 THEN 1
		WHEN ?4 > 0 AND ` + attemptOld + ` >= ?4 AND ?5 = 0 THEN 2 ELSE 0 END)`
	attemptSQL = `INSERT INTO throttles (key, failures, locked_ns, updated_ns, expires_ns, refused)
	VALUES (?1, 1, ?6, ?2, ?3, 0)
	ON CONFLICT (key) DO UPDATE SET
		refused = ` + attemptRefused + `,
		failures = CASE WHEN ` + attemptRefused + ` <> 0 THEN throttles.failures ELSE ` + attemptOld + ` + 1 END,
		locked_ns = CASE WHEN ` + attemptRefused + ` <> 0 THEN throttles.locked_ns
			WHEN ?7 > 0 AND ` + attemptOld + ` + 1 >= ?7 THEN ?2 + min(?9, ?8 << min(` + attemptOld + ` + 1 - ?7, 20))
			ELSE 0 END,
		updated_ns = CASE WHEN ` + attemptRefused + ` <> 0 THEN throttles.updated_ns ELSE ?2 END,
		expires_ns = CASE WHEN ` + attemptRefused + ` <> 0 THEN throttles.expires_ns ELSE ?3 END
	RETURNING failures, locked_ns, refused`
)

func (s *SQLite) Attempt(ctx context.Context, key string, now time.Time, rule ThrottleRule, solved bool) (Attempt, error) {
	var first int64
	if d := rule.lockFor(1); d > 0 {
		first = now.Add(d).UnixNano()
	}
	var a Attempt
	var locked int64
	err := s.db.QueryRowContext(ctx, attemptSQL, key, now.UnixNano(), now.Add(rule.Window).UnixNano(), rule.CaptchaAfter,
		solved, first, rule.LockAfter, int64(rule.LockFirst), int64(rule.LockMax)).Scan(&a.Count, &locked, &a.Refused)
	if err != nil {
		return Attempt{}, err
	}
	if locked > now.UnixNano() {
		a.LockedUntil = time.Unix(0, locked)
	}
	return a, nil
}

func (s *SQLite) Forgive(ctx context.Context, key string, lockedUntil time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE throttles SET failures = max(failures - 1, 0),
		locked_ns = CASE WHEN locked_ns = ?2 THEN 0 ELSE locked_ns END WHERE key = ?1`, key, sqlitedb.Nanos(lockedUntil))
	return err
}

func (s *SQLite) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM throttles WHERE key = ?`, key)
	return err
}

// budgetSQL spends one send. Parameters: ?1 key, ?2 now, ?3 the end of a
// window starting now, ?4 the limit.
const budgetSQL = `INSERT INTO budgets (key, spent, resets_ns, refused) VALUES (?1, 1, ?3, 0)
	ON CONFLICT (key) DO UPDATE SET
		refused = CASE WHEN budgets.resets_ns > ?2 AND budgets.spent >= ?4 THEN 1 ELSE 0 END,
		spent = CASE WHEN budgets.resets_ns <= ?2 THEN 1 WHEN budgets.spent >= ?4 THEN budgets.spent ELSE budgets.spent + 1 END,
		resets_ns = CASE WHEN budgets.resets_ns <= ?2 THEN ?3 ELSE budgets.resets_ns END
	RETURNING spent, resets_ns, refused`

func (s *SQLite) SpendBudget(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (Budget, bool, error) {
	var b Budget
	var resets int64
	var refused bool
	err := s.db.QueryRowContext(ctx, budgetSQL, key, now.UnixNano(), now.Add(window).UnixNano(), limit).Scan(&b.Spent, &resets, &refused)
	if err != nil {
		return Budget{}, false, err
	}
	b.Resets = time.Unix(0, resets)
	return b, !refused, nil
}

func (s *SQLite) RefundBudget(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE budgets SET spent = max(spent - 1, 0) WHERE key = ?`, key)
	return err
}

func (s *SQLite) TryCode(ctx context.Context, id, purpose string, now time.Time, maxTries int) (Code, error) {
	return scanCode(s.db.QueryRowContext(ctx, `UPDATE codes SET tries = tries + 1
		WHERE id = ? AND purpose = ? AND tries < ? AND expires_ns > ? RETURNING `+codeCols, id, purpose, maxTries, now.UnixNano()))
}

func (s *SQLite) ConsumeCode(ctx context.Context, id, hash string, now time.Time) (Code, error) {
	return scanCode(s.db.QueryRowContext(ctx, `DELETE FROM codes WHERE id = ? AND hash = ? AND expires_ns > ? RETURNING `+codeCols,
		id, hash, now.UnixNano()))
}

func (s *SQLite) VerifyCode(ctx context.Context, id, hash string, until time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE codes SET verified = 1, expires_ns = ? WHERE id = ? AND hash = ? AND verified = 0`,
		until.UnixNano(), id, hash)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

func (s *SQLite) AccountsByPhone(ctx context.Context, phones []string) ([]Account, error) {
	if len(phones) == 0 {
		return nil, nil
	}
	args := make([]any, len(phones))
	for i, p := range phones {
		args[i] = p
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE phone IN (?`+
		strings.Repeat(", ?", len(phones)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *SQLite) PhoneRegions(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT region FROM accounts WHERE phone IS NOT NULL ORDER BY region`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLite) RotateRefresh(ctx context.Context, r Rotation) (Device, error) {
	return scanDevice(s.db.QueryRowContext(ctx, `UPDATE devices SET previous_hash = refresh_hash, refresh_hash = ?,
		refresh_ns = ?, rotated_ns = ?, last_seen_ns = ?, grace_pair = ? WHERE id = ? AND refresh_hash = ? AND revoked = 0
		RETURNING `+deviceCols, r.NewHash, sqlitedb.Nanos(r.Until), sqlitedb.Nanos(r.At), sqlitedb.Nanos(r.At), r.GracePair,
		r.DeviceID, r.OldHash))
}

func (s *SQLite) RevokeDevice(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE devices SET revoked = 1, grace_pair = '' WHERE id = ?`, id)
	return err
}

// pruneSQL deletes, per table, the rows that expired before ?1.
var pruneSQL = []string{
	`DELETE FROM codes WHERE expires_ns < ?1`,
	`DELETE FROM budgets WHERE resets_ns < ?1`,
	`DELETE FROM throttles WHERE expires_ns < ?1 AND locked_ns < ?1`,
	`DELETE FROM sessions WHERE expires_ns < ?1`,
	`DELETE FROM device_auths WHERE expires_ns < ?1`,
}

func (s *SQLite) Prune(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, q := range pruneSQL {
		res, err := s.db.ExecContext(ctx, q, now.UnixNano())
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
