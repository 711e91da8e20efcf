package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/storage"
)

// get returns the body of a GET to url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logLines counts the JSON log lines whose message is msg.
func logLines(log, msg string) int {
	n := 0
	for line := range strings.Lines(log) {
		var e struct{ Message string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Message == msg {
			n++
		}
	}
	return n
}

// With the storage stopped, every view of the status says so within one
// retry — text, JSON, the page, the metrics — with a short error and no
// URL; the warnings are collapsed; all clears once the storage is back.
func TestRun_StorageUnreachableInStatus(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "a storage that does not answer")
	w := newWorld(t)
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	w.top = "settle: 200ms\nmetrics:\n  listen: " + web + "\n"
	w.writeConfig("")
	r := w.startAgent()
	w.srv.Kill()
	start := time.Now()
	for i := range 3 {
		w.file(fmt.Sprintf("IMG_%d.jpg", i), jpegHeader(t), 200<<10, uint64(i))
	}
	var s agent.Status
	w.eventually(20*time.Second, "status shows the storage unreachable", func() bool {
		s, _ = r.status()
		return !s.Storage.Reachable
	})
	t.Logf("unreachable in the status %s after the files appeared", time.Since(start).Round(time.Millisecond))
	if retries := logLines(r.logs.String(), "retrying"); retries > 1 {
		t.Errorf("the status said unreachable after %d retries, want at most one", retries)
	}
	st := s.Storage
	if st.Endpoint != w.proxy.Addr || st.LastError == "" || len(st.LastError) > 200 || strings.Contains(st.LastError, "http") {
		t.Errorf("storage status %+v: want endpoint %s and a short error without a URL", st, w.proxy.Addr)
	}
	text := w.run("status").stdout
	line := regexp.MustCompile(`(?m)^storage: ` + regexp.QuoteMeta(w.proxy.Addr) + ` unreachable since \d\d:\d\d:\d\d \(\d+s\): .+$`)
	if !line.MatchString(text) {
		t.Errorf("status text has no line matching %s:\n%s", line, text)
	}
	if page := get(t, "http://"+web+"/"); !strings.Contains(page, `<p class="warn" id="storage">Storage `+w.proxy.Addr+` unreachable since `) {
		t.Errorf("the status page does not say the storage is unreachable:\n%s", page)
	}
	if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, "\ncloudkeep_storage_up 0\n") {
		t.Errorf("metrics do not have cloudkeep_storage_up 0")
	}

	time.Sleep(5 * time.Second) // three uploads keep failing
	logs := r.logs.String()
	retried := logLines(logs, "retrying")
	var attempts float64
	fmt.Sscanf(metric(get(t, "http://"+web+"/metrics"), "cloudkeep_requests_retried_total"), "%g", &attempts)
	if attempts < 3 || retried > 2 {
		t.Errorf("%g requests retried, %d \"retrying\" lines logged: want several retries, at most one line per distinct error", attempts, retried)
	}
	if n := logLines(logs, storage.DownMessage); n != 1 {
		t.Errorf("%d lines say the storage is unreachable, want 1", n)
	}
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "http://") {
			t.Errorf("a log line names a URL: %s", line)
		}
	}

	w.srv.Restart(t)
	w.eventually(60*time.Second, "the three photos are stored", func() bool { return len(w.sizes()) == 3 })
	s, _ = r.status()
	if !s.Storage.Reachable || s.Storage.LastError != "" {
		t.Errorf("storage status %+v after it came back, want reachable", s.Storage)
	}
	if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, "\ncloudkeep_storage_up 1\n") {
		t.Errorf("metrics do not have cloudkeep_storage_up 1 once the storage is back")
	}
	if strings.Contains(w.run("status").stdout, "unreachable") {
		t.Errorf("status still says unreachable")
	}
}

// metric returns the value of an unlabelled series in a scrape.
func metric(scrape, name string) string {
	for line := range strings.Lines(scrape) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A backup whose storage stops answering gives up after give_up_after
// with one line naming the endpoint, and exits 1.
func TestBackup_GivesUpOnUnreachableStorage(t *testing.T) {
	sameOnEveryServer(t, "a storage that does not answer")
	w := newWorld(t)
	w.writeConfig("  give_up_after: 3s\n  bandwidth_limit: 2MiB/s\n")
	w.file("IMG_1.jpg", jpegHeader(t), 100<<10, 1)
	w.file("VID_1.mp4", mp4Header, 12*MiB, 2)
	w.file("VID_2.mp4", mp4Header, 12*MiB, 3)
	cmd := w.command("backup")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	w.eventually(30*time.Second, "the photo is stored", func() bool { return len(w.sizes()) == 1 })
	w.srv.Kill()
	killed := time.Now()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("backup still running 60s after the storage stopped\n%s", errb.String())
	}
	took := time.Since(killed)
	t.Logf("backup gave up %s after the storage stopped (give_up_after 3s)", took.Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if took > 15*time.Second {
		t.Errorf("backup took %s to give up, want about give_up_after (3s) after the first failure", took)
	}
	stderr := errb.String()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if want := "cloudkeep: storage at " + w.proxy.Addr + " unreachable for 3s, giving up: "; !strings.HasPrefix(last, want) || len(last) > 200 {
		t.Errorf("last line %q, want a short line starting %q", last, want)
	}
	if n := logLines(stderr, "retrying"); n > 2 {
		t.Errorf("%d \"retrying\" lines, want at most one per distinct error", n)
	}
	if strings.Contains(stderr, "http://") {
		t.Errorf("the output names a URL:\n%s", stderr)
	}
}

// While the storage stays down, the retries are logged once, then counted
// once a minute.
func TestRun_RepeatedWarningsCountedEveryMinute(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "a storage that does not answer")
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	r := w.startAgent()
	w.srv.Kill()
	for i := range 3 {
		w.file(fmt.Sprintf("IMG_%d.jpg", i), jpegHeader(t), 100<<10, uint64(i))
	}
	count := regexp.MustCompile(`^retrying: the storage does not answer \(repeated (\d+) times in the last 1m0s\)$`)
	var counted []string
	w.eventually(90*time.Second, "a line counts the repeated warnings", func() bool {
		counted = counted[:0]
		for line := range strings.Lines(r.logs.String()) {
			var e struct{ Message string }
			if json.Unmarshal([]byte(line), &e) == nil && count.MatchString(e.Message) {
				counted = append(counted, e.Message)
			}
		}
		return len(counted) > 0
	})
	logs := r.logs.String()
	var n int
	fmt.Sscanf(count.FindStringSubmatch(counted[0])[1], "%d", &n)
	t.Logf("after a minute: %s", counted[0])
	if retrying := logLines(logs, "retrying"); retrying != 1 || n < 3 || len(counted) != 1 {
		t.Errorf("%d \"retrying\" lines and counts %q: want the first one, then one line counting at least 3 more", retrying, counted)
	}
}
