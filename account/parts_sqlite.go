package account

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// partsSchema records the size granted for each part of a multipart
// upload, so the parts of an upload never add up to more than the size
// reserved at its create. Parts go with their upload's reservation.
const partsSchema = `
CREATE TABLE upload_parts (
	account_id TEXT NOT NULL,
	upload_id  TEXT NOT NULL,
	part       INTEGER NOT NULL,
	size       INTEGER NOT NULL,
	PRIMARY KEY (account_id, upload_id, part)
) WITHOUT ROWID;
CREATE TRIGGER reservations_parts AFTER DELETE ON reservations WHEN old.id LIKE 'upload:%' BEGIN
	DELETE FROM upload_parts WHERE account_id = old.account_id AND upload_id = substr(old.id, 8);
END;
`

// GrantPart implements ObjectStore in one INSERT … SELECT … WHERE
// statement: the check against the upload's reservation and the record of
// the part are one atomic step. A part granted again keeps the biggest
// size it was granted: the earlier URLs stay valid.
func (s *SQLite) GrantPart(ctx context.Context, accountID, uploadID, key string, part int, size int64, now time.Time) (bool, error) {
	rows, err := s.query(ctx, `INSERT INTO upload_parts (account_id, upload_id, part, size)
	SELECT ?1, ?2, ?3, ?4 FROM reservations r
	WHERE r.account_id = ?1 AND r.id = 'upload:' || ?2 AND r.key = ?5 AND r.expires_ns > ?6
		AND coalesce((SELECT sum(size) FROM upload_parts WHERE account_id = ?1 AND upload_id = ?2 AND part != ?3), 0) + ?4 <= r.size
	ON CONFLICT (account_id, upload_id, part) DO UPDATE SET size = max(size, excluded.size)
	RETURNING part`, accountID, uploadID, part, size, key, sqlitedb.Nanos(now))
	if err != nil {
		return false, fmt.Errorf("grant part %d of %s: %w", part, key, err)
	}
	defer rows.Close()
	ok := rows.Next()
	return ok, rows.Err()
}
