package repeatlog

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.b.String()), "\n")
}

func TestLimiter_Event(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		log := zerolog.New(zerolog.ConsoleWriter{Out: &out, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
		l := New(log, time.Minute)
		warn := func() {
			l.Event(zerolog.WarnLevel, "retrying: connection refused").Str("op", "put a.jpg").Msg("retrying: connection refused")
		}

		warn() // logged
		for range 37 {
			time.Sleep(time.Second)
			warn() // counted
		}
		l.Event(zerolog.WarnLevel, "another").Msg("another") // a different key is logged
		time.Sleep(time.Minute - 37*time.Second)             // the first report
		synctest.Wait()
		warn()
		time.Sleep(time.Minute) // the second report: 1 repeat
		synctest.Wait()
		time.Sleep(time.Minute) // nothing repeated: forgotten
		synctest.Wait()
		warn() // logged in full again

		want := []string{
			"WRN retrying: connection refused op=\"put a.jpg\"",
			"WRN another",
			"WRN retrying: connection refused (repeated 37 times in the last 1m0s) period=1m0s repeated=37",
			"WRN retrying: connection refused (repeated 1 times in the last 1m0s) period=1m0s repeated=1",
			"WRN retrying: connection refused op=\"put a.jpg\"",
		}
		got := out.lines()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
