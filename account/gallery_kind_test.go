package account

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
	"github.com/cloudkeep/cloudkeep/media"
)

// kindKeys are keys of every extension the gallery knows, in both cases,
// and the hidden and odd ones, for account 1000000001.
func kindKeys() []string {
	keys := []string{"1000000001/laptop/notes", "1000000001/laptop/a.b/c", "1000000001/laptop/x.jpg/readme.txt",
		"1000000001/.thumbs/ab.jpg", "1000000001/laptop/.cloudkeep/m.json", "1000000001/laptop/Pics/.hidden.mov",
		"1000000001/laptop/a.b.c.MP4", "1000000001/.jpg", "1000000001/laptop/x.jpg.", "1000000001/laptop/100%_x.jpg",
		"1000000001/laptop/photo.jpeg~", "1000000001/", "1000000001/laptop/.x", "10000000012/x.jpg",
		"1000000001/laptop/a/b.c/d.JpG", "1000000001/laptop/sub.dir/name"}
	for _, k := range []media.Kind{media.Photo, media.Video, media.Sidecar} {
		for _, ext := range media.Extensions(k) {
			keys = append(keys, "1000000001/phone/DCIM/IMG"+ext, "1000000001/phone/DCIM/IMG"+strings.ToUpper(ext))
		}
	}
	return keys
}

// An index written before the kinds are kept gets each row's kind when
// this version opens it, as objectKind gives it.
func TestObjectStore_KindMigration(t *testing.T) {
	ctx := context.Background()
	const insert = `INSERT INTO objects (account_id, key, size, etag, sha256, mtime, device, updated_ns)
		VALUES ('1000000001', $1, 1, 'e', '', '', 'laptop', 0)`
	check := func(t *testing.T, s ObjectStore) {
		t.Helper()
		got, err := s.IndexedObjects(ctx, "1000000001", "", "\U0010FFFF")
		if err != nil || len(got) != len(kindKeys()) {
			t.Fatalf("after the upgrade: %d rows, %v; want %d", len(got), err, len(kindKeys()))
		}
		kinds := map[string]int{}
		for _, o := range got {
			kinds[o.Kind]++
			if want := objectKind("1000000001", o.Key); o.Kind != want {
				t.Errorf("after the upgrade, %q is of kind %q, want %q", o.Key, o.Kind, want)
			}
		}
		if len(kinds) != 5 {
			t.Errorf("kinds %v, want all five", kinds)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "accounts.db")
		db, err := sqlitedb.Open(ctx, path, sqliteSchema[:slices.Index(sqliteSchema, objectKindSchema)])
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kindKeys() {
			if _, err := db.Exec(strings.ReplaceAll(insert, "$1", "?"), k); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DB(t)
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		err = migratePostgres(ctx, pool, postgresMigrations[:slices.Index(postgresMigrations, objectKindSchema)])
		for _, k := range kindKeys() {
			if err == nil {
				_, err = pool.Exec(ctx, insert, k)
			}
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
		check(t, s)
	})
}

// SQLite reads each of the gallery's statements from an index: never the
// whole account, never the whole table.
func TestSQLite_GalleryPlans(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type stmt struct {
		q    string
		args []any
	}
	var stmts []stmt
	after := GalleryCursor{CaptureNanos: 1, Key: "1000000001/x"}
	for _, f := range []GalleryFilter{{}, {Kind: KindVideo}, {Device: "phone"}, {Month: "2024-01", Day: "2024-01-31"},
		{Search: "x"}, {Device: "phone", Kind: KindPhoto, Month: "2024"}} {
		for _, newer := range []bool{false, true} {
			q, args, err := galleryQuery(sqliteGallery, "1000000001", f, after, newer, 121)
			if err != nil {
				t.Fatal(err)
			}
			stmts = append(stmts, stmt{q, args})
		}
	}
	stmts = append(stmts, stmt{sqliteGroupQuery, []any{"1000000001", `["0123456789abcdef"]`}},
		stmt{sqliteFacetsQuery, []any{"1000000001"}})
	for _, st := range stmts {
		rows, err := s.db.Query(`EXPLAIN QUERY PLAN `+st.q, st.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "SCAN objects") || strings.Contains(p, "PRIMARY KEY (account_id=?)") {
			t.Errorf("query plan %q of\n%s\nreads the account's rows one by one", p, st.q)
		}
	}
}
