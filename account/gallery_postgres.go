package account

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// GalleryPage implements GalleryStore.
func (s *Postgres) GalleryPage(ctx context.Context, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) ([]StoredObject, error) {
	if limit <= 0 {
		return nil, nil
	}
	q, args, err := galleryQuery(postgresGallery, accountID, f, after, newer, limit)
	if err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	return s.objects(ctx, accountID, q, args...)
}

// objects reads the rows of objectCols that q selects.
func (s *Postgres) objects(ctx context.Context, accountID, q string, args ...any) ([]StoredObject, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredObject, error) {
		return scanObject(row, accountID)
	})
	if err != nil {
		return nil, fmt.Errorf("read gallery of %s: %w", accountID, err)
	}
	return out, nil
}

// GroupObjects implements GalleryStore.
func (s *Postgres) GroupObjects(ctx context.Context, accountID string, groups []string) ([]StoredObject, error) {
	groups = slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return g == "" })
	if len(groups) == 0 {
		return nil, nil
	}
	return s.objects(ctx, accountID, `SELECT `+objectCols+` FROM objects
		WHERE account_id = $1 AND group_id = ANY($2) AND kind != '`+KindHidden+`' ORDER BY key`, accountID, groups)
}

// LookupObjects implements GalleryStore.
func (s *Postgres) LookupObjects(ctx context.Context, accountID string, keys []string) ([]StoredObject, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	return s.objects(ctx, accountID, `SELECT `+objectCols+` FROM objects
		WHERE account_id = $1 AND key = ANY($2) ORDER BY key`, accountID, keys)
}

// postgresMTimeOrderSchema is sqliteMTimeOrderSchema for PostgreSQL. The
// cast to timestamptz fails on a text it cannot read, and a failed
// migration stops the service: only texts that are RFC 3339, with a day
// the month has, reach it (the CASE tests them in that order).
var postgresMTimeOrderSchema = `UPDATE objects SET capture_ns = ` + mtimeNanosSQL(
	`extract(epoch FROM (substr(mtime, 1, 19) || %s)::timestamptz)::bigint`, `rpad(%s, 9, '0')`) + `
	WHERE capture = '' AND capture_ns = 0 AND CASE
		WHEN mtime !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$' THEN false
		WHEN substr(mtime, 1, 4) IN ('1677', '2262') THEN false
		WHEN substr(mtime, 6, 2) IN ('04', '06', '09', '11') THEN substr(mtime, 9, 2) <= '30'
		WHEN substr(mtime, 6, 2) = '02' THEN substr(mtime, 9, 2) <= '28' OR substr(mtime, 9, 2) = '29' AND
			substr(mtime, 1, 4)::int % 4 = 0 AND (substr(mtime, 1, 4)::int % 100 != 0 OR substr(mtime, 1, 4)::int % 400 = 0)
		ELSE true END;`

var postgresFacetsQuery = galleryFacetsSQL("")

// GalleryFacets implements GalleryStore.
func (s *Postgres) GalleryFacets(ctx context.Context, accountID string) (GalleryFacets, error) {
	rows, err := s.pool.Query(ctx, postgresFacetsQuery, accountID)
	if err != nil {
		return GalleryFacets{}, fmt.Errorf("read gallery facets of %s: %w", accountID, err)
	}
	var out GalleryFacets
	var device *string
	var lo, hi int64
	_, err = pgx.ForEachRow(rows, []any{&device, &lo, &hi}, func() error {
		if device != nil {
			out.Devices = append(out.Devices, *device)
		} else {
			out.FirstNanos, out.LastNanos = lo, hi
		}
		return nil
	})
	if err != nil {
		return GalleryFacets{}, fmt.Errorf("read gallery facets of %s: %w", accountID, err)
	}
	slices.Sort(out.Devices)
	return out, nil
}
