package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/manifest"
)

// The journal's entries win; the bucket's add the keys the journal never
// knew; the result is sorted by key.
func TestMerged(t *testing.T) {
	local := []manifest.Entry{{Key: "b", Size: 2}, {Key: "d", Size: 4}}
	foreign := []manifest.Entry{{Key: "a", Size: 10}, {Key: "b", Size: 20}, {Key: "c", Size: 30}}
	var got []string
	for _, e := range merged(local, foreign, nil) {
		got = append(got, fmt.Sprintf("%s:%d", e.Key, e.Size))
	}
	if strings.Join(got, " ") != "a:10 b:2 c:30 d:4" {
		t.Errorf("merged: %v", got)
	}
}

// A key both know keeps the earliest time it was live (a new journal
// begins it at now) and the spans that ended before; a forgotten (pruned)
// key does not come back from the bucket's manifest.
func TestMergedSpans(t *testing.T) {
	local := []manifest.Entry{
		{Key: "a", Live: []manifest.Span{{From: 100}}},
		{Key: "b", Live: []manifest.Span{{From: 100}}},
	}
	foreign := []manifest.Entry{
		{Key: "a", Live: []manifest.Span{{From: 10, To: 20}, {From: 50}}},
		{Key: "b", Live: []manifest.Span{{From: 200}}},
		{Key: "gone", Live: []manifest.Span{{From: 1, To: 2}}},
		{Key: "theirs", Live: []manifest.Span{{From: 5}}},
	}
	got := fmt.Sprint(merged(local, foreign, map[string]bool{"gone": true}))
	want := "[{a 0  [{10 20} {50 0}]} {b 0  [{100 0}]} {theirs 0  [{5 0}]}]"
	if got != want {
		t.Errorf("merged:\ngot  %s\nwant %s", got, want)
	}
}

// The agent writes the manifest within a minute of a change: until then a
// file put back under a key already stored is out of restore and ls.
func TestManifestEveryDefault(t *testing.T) {
	t.Setenv("CLOUDKEEP_TEST_MANIFEST_EVERY", "")
	a := &Agent{}
	a.initManifest()
	if a.ManifestEvery > time.Minute {
		t.Errorf("ManifestEvery %v, want at most a minute", a.ManifestEvery)
	}
}
