package account

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// galleryFirstPages are the first pages BenchmarkGalleryFirstPage reads.
var galleryFirstPages = []struct {
	name string
	f    GalleryFilter
}{
	{"all", GalleryFilter{}},
	{"device", GalleryFilter{Device: "tablet"}},
	{"month", GalleryFilter{Month: "2022-06"}},
	{"search", GalleryFilter{Search: "img_0123"}},
}

const galleryPageSize = 121

// syntheticGallery is n rows of account 1000000001, a fifth of them
// thumbnails (without a capture time: they come first in the device
// index), over five years, and n/10 of account 1000000002.
func syntheticGallery(n int) map[string][]StoredObject {
	zones := []*time.Location{time.UTC, time.FixedZone("", 9*3600), time.FixedZone("", -5*3600), time.FixedZone("", 14*3600)}
	devices := []string{"laptop", "phone", "camera", "tablet"}
	exts := []string{".jpg", ".JPG", ".heic", ".mp4", ".jpg", ".mov", ".jpg", ".pdf", ".xmp", ".jpg"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 5 * 365 * 24 * time.Hour / time.Duration(n)
	out := map[string][]StoredObject{}
	for _, acct := range []struct {
		id string
		n  int
	}{{"1000000001", n}, {"1000000002", n / 10}} {
		for i := range acct.n {
			dev := devices[i%len(devices)]
			o := StoredObject{AccountID: acct.id, Size: 1000, ETag: "e", Device: dev, MTime: "2024-01-01T00:00:00Z",
				Key: fmt.Sprintf("%s/%s/DCIM/IMG_%06d%s", acct.id, dev, i, exts[i%len(exts)])}
			if i%5 == 4 {
				o.Key = fmt.Sprintf("%s/.thumbs/%064d.jpg", acct.id, i)
			}
			if i%97 != 0 && i%5 != 4 { // a thumbnail has no capture time, as the devices store it
				o.Capture = base.Add(time.Duration(i) * step).In(zones[i%len(zones)]).Format(time.RFC3339)
			}
			out[acct.id] = append(out[acct.id], o)
		}
	}
	return out
}

// seedGallery stores rows in batches of 1,000.
func seedGallery(tb testing.TB, s ObjectStore, rows map[string][]StoredObject) {
	for id, objs := range rows {
		for b := range slices.Chunk(objs, 1000) {
			if err := s.PutObjects(context.Background(), id, b, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// galleryStores opens an empty SQLite store, and a PostgreSQL one when
// the test cluster's binaries are there.
func galleryStores(tb testing.TB) map[string]ObjectStore {
	ctx := context.Background()
	lite, err := OpenSQLite(ctx, filepath.Join(tb.TempDir(), "accounts.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { lite.Close() })
	out := map[string]ObjectStore{"sqlite": lite}
	if _, err := pgtest.BinDir(); err == nil {
		pg, err := OpenPostgres(ctx, pgtest.DB(tb), "")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { pg.Close() })
		out["postgres"] = pg
	}
	return out
}

// BenchmarkGalleryFirstPage reads the first page of a gallery of 100,000
// rows with each filter.
func BenchmarkGalleryFirstPage(b *testing.B) {
	rows := syntheticGallery(100_000)
	for name, s := range galleryStores(b) {
		seedGallery(b, s, rows)
		for _, p := range galleryFirstPages {
			b.Run(name+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					got, err := s.GalleryPage(context.Background(), "1000000001", p.f, GalleryCursor{}, false, galleryPageSize)
					if err != nil || len(got) == 0 {
						b.Fatalf("%d rows, %v", len(got), err)
					}
				}
			})
		}
		b.Run(name+"/facets", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.GalleryFacets(context.Background(), "1000000001"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The benchmark's first pages hold the rows they should, on a smaller
// gallery.
func TestGalleryFirstPageShort(t *testing.T) {
	rows := syntheticGallery(2000)
	for name, s := range galleryStores(t) {
		seedGallery(t, s, rows)
		for _, p := range galleryFirstPages {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				f := p.f
				if f.Search != "" {
					f.Search = "img_001" // 2,000 rows have no IMG_0123…
				}
				got, err := s.GalleryPage(context.Background(), "1000000001", f, GalleryCursor{}, false, galleryPageSize)
				want := firstPageModel(rows["1000000001"], f)
				if err != nil || !slices.EqualFunc(got, want, func(a, b StoredObject) bool { return a.Key == b.Key }) {
					t.Errorf("first page: %d rows, %v; want %d", len(got), err, len(want))
				}
				if len(want) < 20 {
					t.Errorf("the model's first page has %d rows", len(want))
				}
			})
		}
	}
}

// firstPageModel is the first page of objs under f, as GalleryStore says.
func firstPageModel(objs []StoredObject, f GalleryFilter) []StoredObject {
	var sel []StoredObject
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, o.AccountID+"/")
		k := objectKind(o.AccountID, o.Key)
		switch {
		case k == KindHidden, k == KindSidecar, f.Kind != "" && k != f.Kind, f.Device != "" && o.Device != f.Device,
			f.Month != "" && !strings.HasPrefix(cmp.Or(o.Capture, o.MTime), f.Month), // no capture time: the file's
			!strings.Contains(strings.ToLower(rel), strings.ToLower(f.Search)):
			continue
		}
		sel = append(sel, o)
	}
	slices.SortFunc(sel, func(a, b StoredObject) int {
		return cmp.Or(cmp.Compare(b.CaptureNanos(), a.CaptureNanos()), strings.Compare(b.Key, a.Key))
	})
	return sel[:min(len(sel), galleryPageSize)]
}
