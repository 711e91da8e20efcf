package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// deviceNamesSchema makes a connected device's name unique within its
// account: two devices with one name would write under the same keys and
// overwrite each other's files. Older duplicates are disconnected.
const deviceNamesSchema = `
UPDATE devices SET revoked = 1 WHERE revoked = 0 AND rowid NOT IN
	(SELECT max(rowid) FROM devices WHERE revoked = 0 GROUP BY account_id, name);
CREATE UNIQUE INDEX devices_connected_name ON devices (account_id, name) WHERE revoked = 0;
`

// AddDevice implements Store: a plain insert of the whole row, refused by
// the unique index when a connected device of the account has the name.
func (s *SQLite) AddDevice(ctx context.Context, d Device) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.AccountID, d.Name, d.ClientID, d.RefreshHash, d.PreviousHash, sqlitedb.Nanos(d.RefreshUntil),
		sqlitedb.Nanos(d.Created), sqlitedb.Nanos(d.LastSeen), d.Revoked, sqlitedb.Nanos(d.Rotated), d.GracePair)
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return ErrExists
	}
	return err
}

// deviceNameTaken is the answer to connecting a second device under a name
// a connected device of the account has.
func deviceNameTaken(name string) *Error {
	return &Error{Code: "device_name_taken", Status: 409, Message: fmt.Sprintf(
		"A device named %q is already connected to this account: give this one another name (device.name in its config), "+
			"or disconnect the old one on the account page first.", name)}
}
