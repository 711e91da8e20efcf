package account

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// captureOrder stores photos taken in several zones and returns their
// keys as the index orders them newest capture first.
type captureOrder interface {
	ObjectStore
	newestFirst(t *testing.T, accountID string) []string
}

func (s *SQLite) newestFirst(t *testing.T, accountID string) []string {
	rows, err := s.db.Query(`SELECT key FROM objects WHERE account_id = ? ORDER BY capture_ns DESC, key DESC`, accountID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		out = append(out, k)
	}
	return out
}

func (s *Postgres) newestFirst(t *testing.T, accountID string) []string {
	rows, _ := s.pool.Query(context.Background(), `SELECT key FROM objects WHERE account_id = $1 ORDER BY capture_ns DESC, key DESC`, accountID)
	var out []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// capturedObjects are photos whose capture times sort differently as
// text and as instants: Tokyo at 14:05 is before Berlin at 07:00 the same
// day.
var capturedObjects = []StoredObject{
	{Key: "a/tokyo.jpg", Capture: "2024-01-31T14:05:00+09:00"},     // 05:05 UTC
	{Key: "a/berlin.jpg", Capture: "2024-01-31T07:00:00+01:00"},    // 06:00 UTC
	{Key: "a/newyork.jpg", Capture: "2024-01-31T00:30:00.5-05:00"}, // 05:30:00.5 UTC
	{Key: "a/utc.jpg", Capture: "2024-01-31T05:30:00Z"},            // 05:30 UTC
	{Key: "a/notes.txt"}, // no capture: last
	{Key: "a/old.jpg", Capture: "1601-01-01T00:00:00Z"}, // before what ns hold: clamped, still before the rest
	{Key: "a/bad.jpg", Capture: "2024-01-31 14:05:00"},  // not RFC 3339: as none
}

var newestFirstWant = []string{"a/berlin.jpg", "a/newyork.jpg", "a/utc.jpg", "a/tokyo.jpg", "a/notes.txt", "a/bad.jpg", "a/old.jpg"}

// The index orders an account's photos by the instant they were taken,
// whatever offset each was taken at, on SQLite and PostgreSQL; a photo
// of unknown time comes after those of known time.
func TestObjectStore_CaptureOrder(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(t *testing.T) captureOrder{
		"sqlite": func(t *testing.T) captureOrder {
			s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) captureOrder {
			s, err := OpenPostgres(ctx, pgtest.DB(t), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			objs := slices.Clone(capturedObjects)
			for i := range objs {
				objs[i].AccountID, objs[i].Size, objs[i].ETag = "1000000001", 1, "e"
			}
			if err := s.PutObjects(ctx, "1000000001", objs, nil); err != nil {
				t.Fatal(err)
			}
			if got := s.newestFirst(t, "1000000001"); !slices.Equal(got, newestFirstWant) {
				t.Errorf("newest capture first: %q, want %q", got, newestFirstWant)
			}
		})
	}
}

// SQLite answers newest capture first from the index, without sorting.
func TestSQLite_CaptureIndex(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.db.Query(`EXPLAIN QUERY PLAN SELECT key FROM objects WHERE account_id = ?
		ORDER BY capture_ns DESC, key DESC LIMIT 100`, "1000000001")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING COVERING INDEX objects_capture") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("query plan %q, want the objects_capture index and no sort", p)
	}
}

func TestCaptureNanos(t *testing.T) {
	for _, tc := range []struct {
		capture string
		want    int64
	}{
		{"", 0},
		{"yesterday", 0},
		{"2024-01-31T14:05:00+09:00", time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC).UnixNano()},
		{"2024-01-31T14:05:00.123456789-03:30", time.Date(2024, 1, 31, 17, 35, 0, 123456789, time.UTC).UnixNano()},
		{"1500-01-01T00:00:00Z", math.MinInt64},
		{"2400-01-01T00:00:00Z", math.MaxInt64},
	} {
		if got := captureNanos(tc.capture); got != tc.want {
			t.Errorf("captureNanos(%q) = %d, want %d", tc.capture, got, tc.want)
		}
	}
}

// migrate-store copies the capture instants with the rows: PostgreSQL
// orders the copied photos as SQLite did.
func TestCopyStore_CaptureOrder(t *testing.T) {
	ctx := context.Background()
	src, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := OpenCopyTarget(ctx, pgtest.DB(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	objs := slices.Clone(capturedObjects)
	for i := range objs {
		objs[i].AccountID, objs[i].Size, objs[i].ETag, objs[i].Motion = "1000000001", 1, "e", i%2 == 0
	}
	if err := src.PutObjects(ctx, "1000000001", objs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyStore(ctx, src, dst, false); err != nil {
		t.Fatal(err)
	}
	if got := dst.newestFirst(t, "1000000001"); !slices.Equal(got, newestFirstWant) {
		t.Errorf("copied, newest capture first: %q, want %q", got, newestFirstWant)
	}
	want, _ := src.IndexedObjects(ctx, "1000000001", "a/", "a/~")
	if got, err := dst.IndexedObjects(ctx, "1000000001", "a/", "a/~"); err != nil || !slices.Equal(got, want) {
		t.Errorf("copied index: %+v, %v; want %+v", got, err, want)
	}
}

// An index written before the capture columns keeps its rows when the
// store is opened by this version: their metadata as it was, no capture.
func TestObjectStore_CaptureMigration(t *testing.T) {
	ctx := context.Background()
	const insert = `INSERT INTO objects (account_id, key, size, etag, sha256, mtime, device, updated_ns)
		VALUES ('1000000001', 'a/old.jpg', 7, 'e', 'ab', '2020-01-01T00:00:00Z', 'laptop', 1000000000000)`
	want := []StoredObject{{AccountID: "1000000001", Key: "a/old.jpg", Size: 7, ETag: "e", SHA256: "ab",
		MTime: "2020-01-01T00:00:00Z", Device: "laptop", Updated: time.Unix(1000, 0), Kind: KindPhoto}}
	read := func(t *testing.T, s ObjectStore) {
		t.Helper()
		got, err := s.IndexedObjects(ctx, "1000000001", "a/", "a/~")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("after the upgrade: %+v, %v; want %+v", got, err, want)
		}
		if u, _ := s.Usage(ctx, "1000000001", 0, time.Unix(1000, 0)); u.Used != 7 || u.Objects != 1 {
			t.Errorf("usage after the upgrade: %+v, want 7 bytes in 1 object", u)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "accounts.db")
		db, err := sqlitedb.Open(ctx, path, sqliteSchema[:len(sqliteSchema)-2])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(insert); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		read(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DB(t)
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		err = migratePostgres(ctx, pool, postgresMigrations[:len(postgresMigrations)-2])
		if err == nil {
			_, err = pool.Exec(ctx, insert)
		}
		pool.Close()
		if err != nil {
			t.Fatal(err)
		}
		s, err := OpenPostgres(ctx, dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		read(t, s)
	})
}
