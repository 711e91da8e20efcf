package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/agent"
)

// The summary names each count for what it is: files sent, copied on the
// server, found already stored, unchanged, vanished, failed.
func TestPrintSummary(t *testing.T) {
	sum := agent.Summary{Scanned: 12, Unchanged: 4, Uploaded: 3, Copied: 1, AlreadyStored: 2, Vanished: 1, Interrupted: 1,
		Sent: 3 << 20, Failed: []agent.Failure{{Path: "/p/bad.jpg", Err: errors.New("boom")}}}
	var out, log bytes.Buffer
	printSummary(&out, sum, 1500*time.Millisecond, zerolog.New(&log))
	want := "backed up 4 file(s) in 1.5s: 3 uploaded (3.0 MiB sent), 1 copied on the server; " +
		"2 already stored, 4 unchanged, 1 vanished, 1 failed, 1 interrupted\n  failed: /p/bad.jpg: boom\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
	for _, field := range []string{`"uploaded":3`, `"copied":1`, `"already_stored":2`, `"unchanged":4`, `"vanished":1`, `"interrupted":1`, `"failed":1`, `"sent_bytes":3145728`} {
		if !strings.Contains(log.String(), field) {
			t.Errorf("log line %s lacks %s", log.String(), field)
		}
	}
	if strings.Contains(log.String(), `"skipped"`) {
		t.Errorf("log line %s still says skipped", log.String())
	}
}
