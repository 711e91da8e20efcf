package journal

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// OpenAlert is an alert told and not yet resolved: kept so that a restart
// neither tells it again nor forgets to tell when it is resolved.
type OpenAlert struct {
	Cause   string    // what is wrong, e.g. "storage_unreachable": one alert per cause
	Subject string    // what was told, e.g. "storage unreachable"
	Since   time.Time // when the cause began (column opened_ns)
}

// OpenAlerts returns the alerts open, by cause.
func (j *Journal) OpenAlerts(ctx context.Context) ([]OpenAlert, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT cause, subject, opened_ns FROM alerts ORDER BY cause`)
	if err != nil {
		return nil, fmt.Errorf("read open alerts: %w", err)
	}
	defer rows.Close()
	var out []OpenAlert
	for rows.Next() {
		var a OpenAlert
		var ns int64
		if err := rows.Scan(&a.Cause, &a.Subject, &ns); err != nil {
			return nil, fmt.Errorf("read open alerts: %w", err)
		}
		a.Since = sqlitedb.Time(ns)
		out = append(out, a)
	}
	return out, rows.Err()
}

// OpenAlert records a as open, replacing an alert of the same cause.
func (j *Journal) OpenAlert(ctx context.Context, a OpenAlert) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO alerts (cause, subject, opened_ns) VALUES (?, ?, ?)
		ON CONFLICT (cause) DO UPDATE SET subject = excluded.subject, opened_ns = excluded.opened_ns`,
		a.Cause, a.Subject, sqlitedb.Nanos(a.Since))
	if err != nil {
		return fmt.Errorf("record alert %s: %w", a.Cause, err)
	}
	return nil
}

// CloseAlert forgets the alert of cause, resolved; none is not an error.
func (j *Journal) CloseAlert(ctx context.Context, cause string) error {
	if _, err := j.db.ExecContext(ctx, `DELETE FROM alerts WHERE cause = ?`, cause); err != nil {
		return fmt.Errorf("resolve alert %s: %w", cause, err)
	}
	return nil
}
