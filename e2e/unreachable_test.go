package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/storage"
)

// The storage is down, or swallows every packet, when the agent starts:
// the control socket, the status page and the metrics answer at once, the
// status shows the storage unreachable, new photos are found and wait; once
// the storage is back they are stored, and none was counted or logged as
// failed.
func TestRun_StartsWhileStorageUnreachable(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "a storage that does not answer")
	for _, tc := range []struct {
		name       string
		down, back func(w *world)
	}{
		{"stopped", func(w *world) { w.srv.Kill() }, func(w *world) { w.srv.Restart(w.t) }},
		{"black hole", func(w *world) { w.proxy.BlackHole() }, func(w *world) { w.proxy.EndBlackHole() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
			w.top = "settle: 200ms\nmetrics:\n  listen: " + web + "\n"
			w.writeConfig("  request_timeout: 5s\n")
			w.file("IMG_0.jpg", jpegHeader(t), 200<<10, 1)
			tc.down(w)
			start := time.Now()
			r := w.startAgent() // fails unless the socket answers within 10s
			t.Logf("the agent answered %s after its start", time.Since(start).Round(time.Millisecond))
			w.eventually(10*time.Second, "status shows the storage unreachable", func() bool {
				s, ok := r.status()
				return ok && !s.Storage.Reachable && s.Storage.LastError != ""
			})
			if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, "\ncloudkeep_storage_up 0\n") {
				t.Errorf("metrics do not have cloudkeep_storage_up 0")
			}
			w.file("IMG_1.jpg", jpegHeader(t), 200<<10, 2)
			w.eventually(10*time.Second, "the new photo is found", func() bool {
				return w.journalCount(`SELECT count(*) FROM files WHERE path = 'IMG_1.jpg'`) == 1
			})

			tc.back(w)
			w.eventually(2*time.Minute, "both photos are stored", func() bool { return len(w.sizes()) == 2 })
			s, _ := r.status()
			if s.Totals.Failed != 0 || len(s.Errors) != 0 {
				t.Errorf("status: %d failed, errors %v; want none: the files waited for the storage", s.Totals.Failed, s.Errors)
			}
			r.stop()
			logs := r.logs.String()
			if n := logLines(logs, "upload failed"); n != 0 {
				t.Errorf("%d \"upload failed\" lines, want 0", n)
			}
			for line := range strings.Lines(logs) {
				if strings.Contains(line, "http://") {
					t.Errorf("a log line names a URL: %s", line)
				}
			}
		})
	}
}

// A backup whose storage does not answer from the start, or stops
// answering in the middle (a network that swallows packets, longer than
// give_up_after but shorter than request_timeout), gives up after
// give_up_after with the one documented line, and gives no advice meant
// for the agent.
func TestBackup_GivesUpWhenStorageUnreachable(t *testing.T) {
	sameOnEveryServer(t, "a storage that does not answer")
	const give = 3 * time.Second
	for _, tc := range []struct {
		name    string
		timeout string
		atStart func(w *world)
		midRun  func(w *world)
		most    time.Duration // from the cut
	}{
		{"stopped at start", "1m", func(w *world) { w.srv.Kill() }, nil, give + 3*time.Second},
		{"black hole at start", "1m", func(w *world) { w.proxy.BlackHole() }, nil, give + 3*time.Second},
		// Found by the transport within one request_timeout (after the
		// socket buffers fill at the bandwidth limit), not after the
		// retries of the client: those would take twice as long.
		{"black hole mid-run", "4s", nil, func(w *world) { w.proxy.BlackHole() }, 4*time.Second + give + 6*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.writeConfig(fmt.Sprintf("  give_up_after: %s\n  request_timeout: %s\n  bandwidth_limit: 2MiB/s\n", give, tc.timeout))
			w.file("IMG_1.jpg", jpegHeader(t), 100<<10, 1)
			w.file("VID_1.mp4", mp4Header, 12*MiB, 2)
			if tc.atStart != nil {
				tc.atStart(w)
			}
			cmd := w.command("backup")
			var out, errb syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cut := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if tc.midRun != nil {
				w.eventually(30*time.Second, "the photo is stored", func() bool { return len(w.sizes()) == 1 })
				tc.midRun(w)
				cut = time.Now()
			}
			select {
			case <-done:
			case <-time.After(3 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("backup still running 3 min after the cut\n%s", errb.String())
			}
			took := time.Since(cut)
			t.Logf("backup gave up %s after the cut (give_up_after %s)", took.Round(time.Millisecond), give)
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if took < give-500*time.Millisecond || took > tc.most {
				t.Errorf("gave up %s after the cut, want between %s and %s", took, give, tc.most)
			}
			stderr := errb.String()
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			said := give
			if tc.midRun != nil { // counted from the stall, found one request_timeout after it
				said, _ = time.ParseDuration(tc.timeout)
			}
			if want := fmt.Sprintf("cloudkeep: storage at %s unreachable for %s, giving up: ", w.proxy.Addr, said); !strings.HasPrefix(last, want) || len(last) > 200 {
				t.Errorf("last line %q, want a short line starting %q", last, want)
			}
			if strings.Contains(stderr, "http://") || strings.Contains(stderr, "cloudkeep status") {
				t.Errorf("the output names a URL or advises `cloudkeep status`:\n%s", stderr)
			}
		})
	}
}

// Photos taken while the storage stays down for longer than the retries of
// one request (at most 91 s) wait for it: none is counted, logged or
// journaled as failed, and all are stored within seconds once it is back.
func TestRun_FilesWaitForUnreachableStorage(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	if testing.Short() {
		t.Skip("waits out the retries of a request: about two minutes")
	}
	sameOnEveryServer(t, "a storage that does not answer")
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	r := w.startAgent()
	w.srv.Kill()
	for i := range 3 {
		w.file(fmt.Sprintf("IMG_%d.jpg", i), jpegHeader(t), 200<<10, uint64(i))
	}
	time.Sleep(95 * time.Second) // longer than storage.DefaultBackoff rides out
	s, _ := r.status()
	if s.Totals.Failed != 0 || len(s.Errors) != 0 || s.Storage.Reachable {
		t.Errorf("during the outage: %d failed, errors %v, storage reachable %v; want 0, none, false", s.Totals.Failed, s.Errors, s.Storage.Reachable)
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'failed'`); n != 0 {
		t.Errorf("%d files failed in the journal, want 0", n)
	}
	w.srv.Restart(t)
	back := time.Now()
	w.eventually(time.Minute, "the three photos are stored", func() bool { return len(w.sizes()) == 3 })
	if d := time.Since(back); d > 10*time.Second {
		t.Errorf("stored %s after the storage came back, want within 10s", d.Round(time.Millisecond))
	}
	s, _ = r.status()
	r.stop()
	if s.Totals.Failed != 0 {
		t.Errorf("after the outage: %d failed, want 0", s.Totals.Failed)
	}
	logs := r.logs.String()
	if n := logLines(logs, "upload failed"); n != 0 {
		t.Errorf("%d \"upload failed\" lines, want 0", n)
	}
	if n := logLines(logs, storage.DownMessage); n != 1 {
		t.Errorf("%d lines say the storage is unreachable, want 1", n)
	}
}

// A storage that refuses requests for a skewed clock: the backup says by
// how much, and how to fix it, like `config check --connect`.
func TestBackup_ClockSkewSaysHowFar(t *testing.T) {
	const skew = time.Hour
	s3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code>`+
			`<Message>The difference between the request time and the server's time is too large.</Message><Resource>/</Resource><RequestId>1</RequestId></Error>`)
	}))
	defer s3.Close()
	w := newWorld(t)
	w.file("IMG_1.jpg", jpegHeader(t), 100<<10, 1)
	w.writeConfig("")
	host := strings.TrimPrefix(s3.URL, "http://")
	cfg, _ := os.ReadFile(w.config)
	os.WriteFile(w.config, []byte(strings.Replace(string(cfg), "endpoint: "+w.proxy.Addr, "endpoint: "+host, 1)), 0o644)
	res := w.run("backup")
	want := regexp.MustCompile(`cloudkeep: the clock is (59m5\ds|1h0m[01]s) behind the storage's at ` + regexp.QuoteMeta(host) + `: signed requests fail beyond 15m; set the time \(NTP\)`)
	if res.code != 1 || !want.MatchString(res.stderr) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and a line matching %s", res.code, res.stderr, want)
	}
}
