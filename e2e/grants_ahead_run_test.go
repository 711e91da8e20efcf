package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The daemon prepares the uploads of files queued together as a backup
// pass does: 100 photos dropped at once into a watched folder cost a few
// grant calls, not one each, and every object holds its file's bytes.
func TestAccountMode_RunGrantsAhead(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("lea@example.com", "lea-pass-88")
	w := newWorldOn(t, s.srv, s.url)
	w.writeConfig("")
	w.login(s, id, "lea-pass-88", "lea@example.com")
	r := w.startAgent()
	jpg := jpegHeader(t)
	const files = 100
	sums := map[string]string{}
	for i := range files {
		name := fmt.Sprintf("IMG_%03d.jpg", i)
		sums[id+"/laptop/pictures/"+name] = w.file(name, jpg, 20<<10+int64(i), uint64(i+1))
	}
	w.eventually(60*time.Second, "every photo is stored", func() bool { return len(w.sizes()) == files })
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exit code %d, want 0", code)
	}
	for key, sum := range sums {
		if got := w.contentSHA256(key); got != sum {
			t.Errorf("%s: bytes %s, want %s", key, got, sum)
		}
	}
	calls := grantCalls(t, r.logs.String())
	// One call a photo without the window; how many photos one call covers
	// depends on how fast they arrive, so the bound is loose: at least four
	// a call on average.
	if calls > files/4 {
		t.Errorf("%d grant calls for %d photos, want at most %d", calls, files, files/4)
	}
	t.Logf("%d grant calls for %d photos", calls, files)
}

// grantCalls reads the grant calls a run made from its JSON log.
func grantCalls(t *testing.T, logs string) int64 {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var m struct {
			Message    string `json:"message"`
			GrantCalls int64  `json:"grant_calls"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Message == "storage grants" {
			return m.GrantCalls
		}
	}
	t.Fatalf("no grant count in the log:\n%s", logs)
	return 0
}
