package journal_test

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/journal"
)

// A scan visits files folder by folder, which is not the byte order of
// their paths ("Trip/b.jpg" comes before "Trip 2/a.jpg"): the snapshot
// finds every row whatever the order, across its chunks, tells new files
// from known ones and returns as gone exactly the rows not visited.
func TestSnapshot_VisitInWalkOrder(t *testing.T) {
	ctx := context.Background()
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	var known []string
	for i := range 5000 {
		known = append(known, fmt.Sprintf("%02d/IMG_%04d.jpg", i%50, i))
	}
	known = append(known, "Trip/b.jpg", "Trip 2/a.jpg", "Trip.jpg", "Trip-x/c.jpg", "gone.jpg", "gone/d.jpg")
	seen := make([]journal.Seen, len(known))
	for i, p := range known {
		seen[i] = journal.Seen{Path: p, Identity: journal.Identity{Size: int64(i)}}
	}
	rows, _, err := j.TrackAll(ctx, "r", seen)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, f := range rows {
		ids[f.Path] = f.ID
	}
	deleted := seen[:1] // a deleted row is not in the snapshot: not gone again
	if _, err := j.MarkGone(ctx, "r", []string{deleted[0].Path}); err != nil {
		t.Fatal(err)
	}

	walked := append(slices.Clone(known[1:]), "new.jpg", "Trip/new.jpg", "00/new.jpg")
	walked = slices.DeleteFunc(walked, func(p string) bool { return strings.HasPrefix(p, "gone") })
	slices.SortFunc(walked, func(a, b string) int { // folder by folder, names in byte order
		return cmp.Compare(strings.ReplaceAll(a, "/", "\x00"), strings.ReplaceAll(b, "/", "\x00"))
	})
	s, err := j.Snapshot(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range walked {
		e, ok := s.Visit(p)
		if want, known := ids[p]; ok != known || e.ID != want {
			t.Errorf("Visit(%q): got id %d, %v; want %d, %v", p, e.ID, ok, want, known)
		}
	}
	gone, err := s.Gone()
	slices.Sort(gone)
	if want := []int64{ids["gone.jpg"], ids["gone/d.jpg"]}; err != nil || !slices.Equal(gone, want) {
		t.Errorf("Gone: got %v, %v; want %v", gone, err, want)
	}
}
