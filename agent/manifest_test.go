package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/manifest"
)

// The journal's entries win; the bucket's add the keys the journal never
// knew; the result is sorted by key.
func TestMerged(t *testing.T) {
	local := []manifest.Entry{{Key: "b", Size: 2}, {Key: "d", Size: 4}}
	foreign := []manifest.Entry{{Key: "a", Size: 10}, {Key: "b", Size: 20}, {Key: "c", Size: 30}}
	var got []string
	for _, e := range merged(local, foreign) {
		got = append(got, fmt.Sprintf("%s:%d", e.Key, e.Size))
	}
	if strings.Join(got, " ") != "a:10 b:2 c:30 d:4" {
		t.Errorf("merged: %v", got)
	}
}
