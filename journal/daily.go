package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The bytes sent each local day are kept so that rules.daily_cap holds
// across restarts: a day is written as YYYY-MM-DD in local time.

// AddSent adds n bytes to those sent on day.
func (j *Journal) AddSent(ctx context.Context, day string, n int64) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO sent_daily (day, bytes) VALUES (?, ?)
		ON CONFLICT (day) DO UPDATE SET bytes = bytes + excluded.bytes`, day, n)
	if err != nil {
		return fmt.Errorf("count bytes sent on %s: %w", day, err)
	}
	return nil
}

// SentOn returns the bytes sent on day; 0 for a day with none.
func (j *Journal) SentOn(ctx context.Context, day string) (int64, error) {
	var n int64
	err := j.db.QueryRowContext(ctx, `SELECT bytes FROM sent_daily WHERE day = ?`, day).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read bytes sent on %s: %w", day, err)
	}
	return n, nil
}
