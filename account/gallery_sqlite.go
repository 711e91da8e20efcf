package account

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// galleryDialect is what GalleryPage's statement says differently in one
// store: how the nth argument is named, and the LIKE that ignores case.
type galleryDialect struct {
	arg  func(n int) string
	like string
}

var (
	sqliteGallery   = galleryDialect{arg: func(n int) string { return "?" + strconv.Itoa(n) }, like: "LIKE"}
	postgresGallery = galleryDialect{arg: func(n int) string { return "$" + strconv.Itoa(n) }, like: "ILIKE"}
)

// galleryKinds are the kinds GalleryPage lists, each read in its own
// branch of the statement (but for a device) so that the (account, kind,
// capture_ns, key) index delivers it in order.
var galleryKinds = []string{KindPhoto, KindVideo, KindOther}

// galleryQuery is GalleryPage's one statement and its arguments: for each
// kind, the first limit rows after the cursor from the index, then the
// first limit of them all.
func galleryQuery(d galleryDialect, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) (string, []any, error) {
	kinds := galleryKinds
	if f.Kind != "" {
		if !slices.Contains(galleryKinds, f.Kind) {
			return "", nil, fmt.Errorf("no gallery kind %q", f.Kind)
		}
		kinds = []string{f.Kind}
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.arg(len(args))
	}
	where := "account_id = " + arg(accountID)
	cmp, order := "<", "capture_ns DESC, key DESC"
	if newer {
		cmp, order = ">", "capture_ns, key"
	}
	if after.Key != "" {
		where += " AND (capture_ns, key) " + cmp + " (" + arg(after.CaptureNanos) + ", " + arg(after.Key) + ")"
	}
	if f.Device != "" {
		where += " AND device = " + arg(f.Device)
	}
	for _, date := range []string{f.Month, f.Day} {
		if date == "" {
			continue
		}
		lo, hi, err := localSpan(date)
		if err != nil {
			return "", nil, err
		}
		where += " AND capture_ns >= " + arg(lo) + " AND capture_ns <= " + arg(hi) + " AND " + galleryDate + " LIKE " + arg(date+"%")
	}
	if f.Search != "" {
		where += " AND substr(key, " + arg(len(accountID)+2) + ") " + d.like + " " + arg("%"+escapeLike(f.Search)+"%") + ` ESCAPE '\'`
	}
	lim := arg(limit)
	// A device's rows come in order from its own index, whatever their
	// kind; the account's from each kind's.
	in := []string{"IN ('" + strings.Join(kinds, "', '") + "')"}
	if f.Device == "" {
		in = nil
		for _, k := range kinds {
			in = append(in, "= '"+k+"'")
		}
	}
	branches := make([]string, len(in))
	for i, k := range in {
		branches[i] = fmt.Sprintf(`SELECT * FROM (SELECT %s, capture_ns FROM objects WHERE %s AND kind %s
			ORDER BY %s LIMIT %s) AS k%d`, objectCols, where, k, order, lim, i)
	}
	q := `SELECT ` + objectCols + ` FROM (` + strings.Join(branches, "\n\tUNION ALL ") + `) AS page
	ORDER BY ` + order + ` LIMIT ` + lim
	return q, args, nil
}

// galleryDate is the text whose date a Month or Day filter tests: the
// capture time on the clock where it was taken, else the file's time,
// as capture_ns holds the one or the other (orderNanos).
const galleryDate = "CASE WHEN capture != '' THEN capture ELSE mtime END"

// localSpan is the span of capture instants that a date on the clock where
// a photo was taken ("2024", "2024-01" or "2024-01-31") can fall in: the
// date in UTC widened by a day each way, more than any offset. The capture
// text's own date then decides.
func localSpan(date string) (lo, hi int64, err error) {
	var start, end time.Time
	for _, layout := range []string{"2006", "2006-01", time.DateOnly} {
		if len(date) != len(layout) {
			continue
		}
		if start, err = time.Parse(layout, date); err != nil {
			return 0, 0, fmt.Errorf("gallery date %q: %w", date, err)
		}
		switch layout {
		case "2006":
			end = start.AddDate(1, 0, 0)
		case "2006-01":
			end = start.AddDate(0, 1, 0)
		default:
			end = start.AddDate(0, 0, 1)
		}
		return clampNanos(start.Add(-24 * time.Hour)), clampNanos(end.Add(24 * time.Hour)), nil
	}
	return 0, 0, fmt.Errorf("gallery date %q: want YYYY, YYYY-MM or YYYY-MM-DD", date)
}

// clampNanos is t in Unix ns, clamped as captureNanos clamps.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minCapture):
		return math.MinInt64
	case t.After(maxCapture):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// escapeLike is s as a LIKE pattern … ESCAPE '\' that matches s itself.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// GalleryPage implements GalleryStore.
func (s *SQLite) GalleryPage(ctx context.Context, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) ([]StoredObject, error) {
	if limit <= 0 {
		return nil, nil
	}
	q, args, err := galleryQuery(sqliteGallery, accountID, f, after, newer, limit)
	if err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	return s.objects(ctx, accountID, q, args...)
}

// objects reads the rows of objectCols that q selects.
func (s *SQLite) objects(ctx context.Context, accountID, q string, args ...any) ([]StoredObject, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []StoredObject
	for rows.Next() {
		o, err := scanObject(rows, accountID)
		if err != nil {
			return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	return out, nil
}

// GroupObjects implements GalleryStore in one statement, whatever the
// number of groups (they go as one JSON array).
func (s *SQLite) GroupObjects(ctx context.Context, accountID string, groups []string) ([]StoredObject, error) {
	groups = slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return g == "" })
	if len(groups) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(groups)
	if err != nil {
		return nil, fmt.Errorf("read groups of %s: %w", accountID, err)
	}
	return s.objects(ctx, accountID, sqliteGroupQuery, accountID, string(raw))
}

// sqliteGroupQuery is GroupObjects' statement: ?1 the account, ?2 the
// groups as a JSON array. SQLite, without statistics, would rather scan
// the account's rows than look them up by the group index.
const sqliteGroupQuery = `SELECT ` + objectCols + ` FROM objects INDEXED BY objects_group
	WHERE account_id = ?1 AND group_id IN (SELECT value FROM json_each(?2)) AND kind != '` + KindHidden + `'
	ORDER BY key`

// LookupObjects implements GalleryStore in one statement.
func (s *SQLite) LookupObjects(ctx context.Context, accountID string, keys []string) ([]StoredObject, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("look up %d keys of %s: %w", len(keys), accountID, err)
	}
	return s.objects(ctx, accountID, `SELECT `+objectCols+` FROM objects
		WHERE account_id = ? AND key IN (SELECT value FROM json_each(?)) ORDER BY key`, accountID, string(raw))
}

// galleryFacetsSQL is GalleryFacets' one statement, in words both
// stores read ($1 the account): the devices by a skip scan of the device
// index, each kept when it has a row that is not hidden (SQLite, without
// statistics, must be told to look that up by the index of those); the
// first and last capture instants from the ends of each kind's index, 0
// (unknown) left out.
func galleryFacetsSQL(byDevice string) string {
	return `WITH RECURSIVE d(device) AS (
		SELECT min(device) FROM objects WHERE account_id = $1 AND device > ''
		UNION ALL
		SELECT (SELECT min(device) FROM objects WHERE account_id = $1 AND device > d.device) FROM d WHERE d.device IS NOT NULL),
	k(kind) AS (VALUES ('` + KindPhoto + `'), ('` + KindVideo + `'), ('` + KindOther + `'), ('` + KindSidecar + `')),
	span(lo, hi) AS (SELECT
		coalesce((SELECT min(capture_ns) FROM objects WHERE account_id = $1 AND kind = k.kind AND capture_ns < 0),
			(SELECT min(capture_ns) FROM objects WHERE account_id = $1 AND kind = k.kind AND capture_ns > 0)),
		coalesce((SELECT max(capture_ns) FROM objects WHERE account_id = $1 AND kind = k.kind AND capture_ns > 0),
			(SELECT max(capture_ns) FROM objects WHERE account_id = $1 AND kind = k.kind AND capture_ns < 0))
		FROM k)
	SELECT d.device, 0, 0 FROM d WHERE d.device IS NOT NULL AND EXISTS (
		SELECT 1 FROM objects ` + byDevice + ` WHERE account_id = $1 AND device = d.device AND kind != '` + KindHidden + `')
	UNION ALL
	SELECT NULL, coalesce(min(lo), 0), coalesce(max(hi), 0) FROM span`
}

// sqliteMTimeOrderSchema gives the rows stored without a capture time the
// instant of their file's time in capture_ns, as orderNanos does for the
// rows written since, to the nanosecond: unixepoch reads the date, time
// and offset, and the fraction's first nine digits are added, as
// time.Parse reads them. A text that is not RFC 3339 keeps 0 (date and
// time would make 30 February 2 March: they must give back the text).
var sqliteMTimeOrderSchema = `UPDATE objects SET capture_ns = ` + mtimeNanosSQL(`unixepoch(substr(mtime, 1, 19) || %s)`, `substr(%s || '000000000', 1, 9)`) + `
	WHERE capture = '' AND capture_ns = 0 AND mtime GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
		AND substr(mtime, 1, 4) NOT IN ('1677', '2262')
		AND date(substr(mtime, 1, 10)) = substr(mtime, 1, 10) AND time(substr(mtime, 12, 8)) = substr(mtime, 12, 8)
		AND unixepoch(substr(mtime, 1, 19) || ` + mtimeZoneSQL + `) IS NOT NULL
		AND (` + mtimeZoneSQL + ` = 'Z' OR ` + mtimeZoneSQL + ` GLOB '[+-][0-9][0-9]:[0-9][0-9]')
		AND ` + mtimeFractionSQL + ` NOT GLOB '*[^0-9]*'
		AND (substr(mtime, 20, 1) = '.' AND length(` + mtimeFractionSQL + `) > 0 OR length(mtime) = 19 + length(` + mtimeZoneSQL + `));`

// mtimeZoneSQL is the offset of an RFC 3339 mtime ("Z" or "+09:00") and
// mtimeFractionSQL its fraction's digits ("" without), in words SQLite and
// PostgreSQL both read.
const (
	mtimeZoneSQL     = `(CASE WHEN substr(mtime, length(mtime), 1) = 'Z' THEN 'Z' ELSE substr(mtime, length(mtime) - 5) END)`
	mtimeFractionSQL = `(CASE WHEN substr(mtime, 20, 1) = '.' THEN substr(mtime, 21, length(mtime) - 20 - length(` + mtimeZoneSQL + `)) ELSE '' END)`
)

// mtimeNanosSQL is the Unix ns of an RFC 3339 mtime, clamped as
// captureNanos clamps (the years 1677 and 2262, where the clamp falls, are
// left to the caller): seconds is the store's expression of the whole
// seconds (%s the zone), fraction its expression of the fraction padded
// to nine digits (%s the digits).
func mtimeNanosSQL(seconds, fraction string) string {
	return `CASE WHEN substr(mtime, 1, 4) < '1677' THEN -9223372036854775807 - 1
		WHEN substr(mtime, 1, 4) > '2262' THEN 9223372036854775807
		ELSE (` + fmt.Sprintf(seconds, mtimeZoneSQL) + `) * 1000000000 + CAST(` + fmt.Sprintf(fraction, mtimeFractionSQL) + ` AS BIGINT) END`
}

var sqliteFacetsQuery = strings.ReplaceAll(galleryFacetsSQL("INDEXED BY objects_device_shown"), "$1", "?1")

// GalleryFacets implements GalleryStore.
func (s *SQLite) GalleryFacets(ctx context.Context, accountID string) (GalleryFacets, error) {
	rows, err := s.query(ctx, sqliteFacetsQuery, accountID)
	if err != nil {
		return GalleryFacets{}, fmt.Errorf("read gallery facets of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out GalleryFacets
	for rows.Next() {
		var device *string
		var lo, hi int64
		if err := rows.Scan(&device, &lo, &hi); err != nil {
			return GalleryFacets{}, fmt.Errorf("read gallery facets of %s: %w", accountID, err)
		}
		if device != nil {
			out.Devices = append(out.Devices, *device)
		} else {
			out.FirstNanos, out.LastNanos = lo, hi
		}
	}
	if err := rows.Err(); err != nil {
		return GalleryFacets{}, fmt.Errorf("read gallery facets of %s: %w", accountID, err)
	}
	slices.Sort(out.Devices)
	return out, nil
}
