package journal

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Alert is an alert told and not yet resolved, or resolved and not yet
// delivered everywhere: kept so that a restart neither tells it again,
// nor forgets to tell it, nor forgets to tell when it is resolved.
type Alert struct {
	Cause    string    // what is wrong, e.g. "storage_unreachable": one alert per cause
	Subject  string    // what was told, e.g. "storage unreachable"
	Detail   string    // the open message's detail, to send it again after a restart
	Since    time.Time // when the cause began (column opened_ns)
	Told     time.Time // when it was opened
	Resolved time.Time // when it was resolved; zero while open
	// Unsent names the senders ("webhook", "email"…) that have not yet
	// taken the message of its state: the open one, or the resolved one
	// once Resolved is set.
	Unsent []string
}

// Open reports whether a is not resolved.
func (a Alert) Open() bool { return a.Resolved.IsZero() }

// Alerts returns the alerts kept, open or not yet delivered, by cause.
func (j *Journal) Alerts(ctx context.Context) ([]Alert, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT cause, subject, detail, opened_ns, told_ns, resolved_ns, unsent FROM alerts ORDER BY cause`)
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var since, told, resolved int64
		var unsent string
		if err := rows.Scan(&a.Cause, &a.Subject, &a.Detail, &since, &told, &resolved, &unsent); err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		a.Since, a.Told = sqlitedb.Time(since), sqlitedb.Time(told)
		if resolved != 0 {
			a.Resolved = sqlitedb.Time(resolved)
		}
		if unsent != "" {
			a.Unsent = strings.Split(unsent, ",")
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// OpenAlerts returns the alerts open, by cause.
func (j *Journal) OpenAlerts(ctx context.Context) ([]Alert, error) {
	all, err := j.Alerts(ctx)
	open := all[:0]
	for _, a := range all {
		if a.Open() {
			open = append(open, a)
		}
	}
	return open, err
}

// PutAlert records a, replacing the alert of the same cause.
func (j *Journal) PutAlert(ctx context.Context, a Alert) error {
	var resolved int64
	if !a.Resolved.IsZero() {
		resolved = sqlitedb.Nanos(a.Resolved)
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO alerts (cause, subject, detail, opened_ns, told_ns, resolved_ns, unsent) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (cause) DO UPDATE SET subject = excluded.subject, detail = excluded.detail, opened_ns = excluded.opened_ns,
			told_ns = excluded.told_ns, resolved_ns = excluded.resolved_ns, unsent = excluded.unsent`,
		a.Cause, a.Subject, a.Detail, sqlitedb.Nanos(a.Since), sqlitedb.Nanos(a.Told), resolved, strings.Join(a.Unsent, ","))
	if err != nil {
		return fmt.Errorf("record alert %s: %w", a.Cause, err)
	}
	return nil
}

// DeleteAlert forgets the alert of cause, resolved and delivered; none is
// not an error.
func (j *Journal) DeleteAlert(ctx context.Context, cause string) error {
	if _, err := j.db.ExecContext(ctx, `DELETE FROM alerts WHERE cause = ?`, cause); err != nil {
		return fmt.Errorf("forget alert %s: %w", cause, err)
	}
	return nil
}
