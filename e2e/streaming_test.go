package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// `cloudkeep backup` uploads while it walks: on 800 photos, the first is
// stored before the walk's "scanned" line (the walk can only run a few
// windows of files ahead of the uploads), and every photo ends up stored
// and journaled done.
func TestBackup_UploadsWhileWalking(t *testing.T) {
	w := newWorld(t)
	header := jpegHeader(t)
	const n = 800
	for i := range n {
		w.file(fmt.Sprintf("%02d/IMG_%04d.jpg", i/100, i), header, 2<<10, uint64(i))
	}
	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("backup: exit %d\n%s", res.code, res.stderr)
	}
	var msgs []string
	for line := range strings.Lines(res.stderr) {
		var e struct{ Message string }
		if json.Unmarshal([]byte(line), &e) == nil {
			msgs = append(msgs, e.Message)
		}
	}
	first, scanned := slices.Index(msgs, "uploaded"), slices.Index(msgs, "scanned")
	if first < 0 || scanned < 0 || first > scanned {
		t.Errorf("log: first upload at line %d, scanned at line %d; want an upload before the walk ends", first, scanned)
	}
	if got := len(w.objects()); got != n {
		t.Errorf("bucket holds %d objects, want %d", got, n)
	}
	if got := w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`); got != n {
		t.Errorf("journal: %d files done, want %d", got, n)
	}
}
