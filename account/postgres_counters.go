package account

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// pgAttemptSQL is attemptSQL in PostgreSQL's words ($n for ?n, least and
// greatest for min and max, booleans for flags): one upsert whose RETURNING
// decides. Parameters: $1 key, $2 now, $3 expiry of the counter,
// $4 CaptchaAfter, $5 solved, $6 the lock of a first attempt, $7 LockAfter,
// $8 LockFirst, $9 LockMax.
var pgAttemptSQL = strings.NewReplacer(
	"?1", "$1::text", "?2", "$2::bigint", "?3", "$3::bigint", "?4", "$4::int", "?5 = 0", "NOT $5::bool", "?6", "$6::bigint",
	"?7", "$7::int", "?8", "$8::bigint", "?9", "$9::bigint", "min(", "least(",
).Replace(attemptSQL)

func (s *Postgres) Attempt(ctx context.Context, key string, now time.Time, rule ThrottleRule, solved bool) (Attempt, error) {
	var first int64
	if d := rule.lockFor(1); d > 0 {
		first = now.Add(d).UnixNano()
	}
	var a Attempt
	var locked int64
	err := s.pool.QueryRow(ctx, pgAttemptSQL, key, now.UnixNano(), now.Add(rule.Window).UnixNano(), rule.CaptchaAfter,
		solved, first, rule.LockAfter, int64(rule.LockFirst), int64(rule.LockMax)).Scan(&a.Count, &locked, &a.Refused)
	if err != nil {
		return Attempt{}, err
	}
	if locked > now.UnixNano() {
		a.LockedUntil = time.Unix(0, locked)
	}
	return a, nil
}

func (s *Postgres) Forgive(ctx context.Context, key string, lockedUntil time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE throttles SET failures = greatest(failures - 1, 0),
		locked_ns = CASE WHEN locked_ns = $2 THEN 0 ELSE locked_ns END WHERE key = $1`, key, sqlitedb.Nanos(lockedUntil))
	return err
}

func (s *Postgres) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM throttles WHERE key = $1`, key)
	return err
}

// pgBudgetSQL is budgetSQL in PostgreSQL's words. Parameters: $1 key,
// $2 now, $3 the end of a window starting now, $4 the limit.
const pgBudgetSQL = `INSERT INTO budgets (key, spent, resets_ns, refused) VALUES ($1, 1, $3, false)
	ON CONFLICT (key) DO UPDATE SET
		refused = budgets.resets_ns > $2 AND budgets.spent >= $4,
		spent = CASE WHEN budgets.resets_ns <= $2 THEN 1 WHEN budgets.spent >= $4 THEN budgets.spent ELSE budgets.spent + 1 END,
		resets_ns = CASE WHEN budgets.resets_ns <= $2 THEN $3 ELSE budgets.resets_ns END
	RETURNING spent, resets_ns, refused`

func (s *Postgres) SpendBudget(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (Budget, bool, error) {
	var b Budget
	var resets int64
	var refused bool
	err := s.pool.QueryRow(ctx, pgBudgetSQL, key, now.UnixNano(), now.Add(window).UnixNano(), limit).Scan(&b.Spent, &resets, &refused)
	if err != nil {
		return Budget{}, false, err
	}
	b.Resets = time.Unix(0, resets)
	return b, !refused, nil
}

func (s *Postgres) RefundBudget(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `UPDATE budgets SET spent = greatest(spent - 1, 0) WHERE key = $1`, key)
	return err
}

func (s *Postgres) TryCode(ctx context.Context, id, purpose string, now time.Time, maxTries int) (Code, error) {
	return scanCode(pgRow{s.pool.QueryRow(ctx, `UPDATE codes SET tries = tries + 1
		WHERE id = $1 AND purpose = $2 AND tries < $3 AND expires_ns > $4 RETURNING `+codeCols, id, purpose, maxTries, now.UnixNano())})
}

func (s *Postgres) ConsumeCode(ctx context.Context, id, hash string, now time.Time) (Code, error) {
	return scanCode(pgRow{s.pool.QueryRow(ctx, `DELETE FROM codes WHERE id = $1 AND hash = $2 AND expires_ns > $3 RETURNING `+codeCols,
		id, hash, now.UnixNano())})
}

func (s *Postgres) VerifyCode(ctx context.Context, id, hash string, until time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE codes SET verified = true, expires_ns = $1 WHERE id = $2 AND hash = $3 AND NOT verified`,
		until.UnixNano(), id, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrNotFound
	}
	return pgNotFound(err)
}

func (s *Postgres) AccountsByPhone(ctx context.Context, phones []string) ([]Account, error) {
	if len(phones) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pgAccountCols+` FROM accounts WHERE phone = ANY($1)`, phones)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) { return scanAccount(r) })
}

func (s *Postgres) PhoneRegions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT region FROM accounts WHERE phone IS NOT NULL ORDER BY region`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s *Postgres) RotateRefresh(ctx context.Context, r Rotation) (Device, error) {
	return scanDevice(pgRow{s.pool.QueryRow(ctx, `UPDATE devices SET previous_hash = refresh_hash, refresh_hash = $1,
		refresh_ns = $2, rotated_ns = $3, last_seen_ns = $3, grace_pair = $4 WHERE id = $5 AND refresh_hash = $6 AND NOT revoked
		RETURNING `+deviceCols, r.NewHash, sqlitedb.Nanos(r.Until), sqlitedb.Nanos(r.At), r.GracePair, r.DeviceID, r.OldHash)})
}

func (s *Postgres) RevokeDevice(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE devices SET revoked = true, grace_pair = '' WHERE id = $1`, id)
	return err
}

// Prune implements Counters with plain DELETEs, each its own statement:
// replicas pruning at once do not fight, as a row one of them deletes is
// skipped by the others (and counted once).
func (s *Postgres) Prune(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, q := range pruneSQL {
		tag, err := s.pool.Exec(ctx, strings.ReplaceAll(q, "?1", "$1"), now.UnixNano())
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
	}
	return total, nil
}
