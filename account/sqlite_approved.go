package account

import (
	"context"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// ApprovedDeviceAuths returns the account's device authorizations that
// were approved and have not yet been collected by their device, nor
// expired, by device name.
func (s *SQLite) ApprovedDeviceAuths(ctx context.Context, accountID string, now time.Time) ([]DeviceAuth, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceAuthCols+` FROM device_auths
		WHERE account_id = ? AND status = 'approved' AND expires_ns > ? ORDER BY device_name, code_hash`,
		accountID, sqlitedb.Nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeviceAuth
	for rows.Next() {
		var d DeviceAuth
		var expires, interval, poll int64
		if err := rows.Scan(&d.CodeHash, &d.UserCode, &d.ClientID, &d.DeviceName, &d.AccountID, &d.Status,
			&expires, &interval, &poll); err != nil {
			return nil, err
		}
		d.Expires, d.Interval, d.LastPoll = sqlitedb.Time(expires), time.Duration(interval), sqlitedb.Time(poll)
		out = append(out, d)
	}
	return out, rows.Err()
}
