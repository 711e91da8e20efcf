package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/cloudkeep/cloudkeep/internal/dbustest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// rulesClock points the agent's upload rules at a clock file the test
// sets (CLOUDKEEP_TEST_CLOCK_FILE, read again every 200ms).
func rulesClock(w *world, at string) func(string) {
	file := filepath.Join(w.dir, "clock")
	set := func(at string) {
		w.t.Helper()
		if err := os.WriteFile(file, []byte(at), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	set(at)
	w.env = append(w.env, "CLOUDKEEP_TEST_CLOCK_FILE="+file)
	return set
}

// rulesPartPuts counts the UploadPart requests the storage was sent.
func rulesPartPuts(w *world) int {
	n := 0
	for _, r := range w.proxy.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Target, "partNumber=") {
			n++
		}
	}
	return n
}

// rulesSettled waits until no part has gone for a while (the parts in
// flight when a rule held uploads have ended) and returns how many went.
func rulesSettled(w *world, quiet time.Duration) int {
	w.t.Helper()
	n, since := rulesPartPuts(w), time.Now()
	w.eventually(20*time.Second, "the parts in flight end", func() bool {
		if now := rulesPartPuts(w); now != n {
			n, since = now, time.Now()
		}
		return time.Since(since) >= quiet
	})
	return n
}

// An upload window closes while a 60 MiB video is sent in 12 parts: the
// upload stops after the part in flight, the status says which rule holds
// it and when it opens again; once it opens the upload goes on, sending
// no part twice, at the window's own bandwidth limit.
func TestRun_RulesWindowClosesMidUpload(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	setClock := rulesClock(w, "2026-11-28T03:00:00") // Saturday, inside the window
	w.top = "settle: 200ms\nmetrics:\n  listen: " + web + "\nrules:\n  windows:\n    - {time: \"01:00-06:00\", bandwidth_limit: 10MiB/s}\n"
	w.writeConfig("")
	const size = 60 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 61)
	const key = "alice/laptop/pictures/movie.mp4"
	r := w.startAgent()

	w.eventually(20*time.Second, "three parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 3
	})
	if s, _ := r.status(); s.Rules == nil || s.Rules.BandwidthLimit != 10*MiB || s.Rules.Window != "01:00-06:00" {
		t.Errorf("status inside the window: got %+v, want window 01:00-06:00 at 10 MiB/s", s.Rules)
	}
	setClock("2026-11-28T07:00:00") // the window closed
	w.eventually(5*time.Second, "the status says the window holds uploads", func() bool {
		s, ok := r.status()
		return ok && s.Rules != nil && s.Rules.Rule == "rules.windows"
	})
	held := rulesSettled(w, 1500*time.Millisecond)
	t.Logf("the window closed after %d of 12 parts", held)
	if held >= 12 {
		t.Fatalf("all %d parts went although the window closed", held)
	}
	text := w.run("status").stdout
	t.Logf("status while the window is closed:\n%s", text)
	if want := "uploads held: outside the upload windows (next opens Sun 01:00) — rules.windows\n"; !strings.Contains(text, want) {
		t.Errorf("status:\n%s\nwant the line %q", text, want)
	}
	if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, `cloudkeep_rules_holding{rule="windows"} 1`) {
		t.Errorf("metrics have no cloudkeep_rules_holding{rule=\"windows\"} 1:\n%s", grepLines(m, "cloudkeep_rules"))
	}
	if _, stored := w.sizes()[key]; stored {
		t.Fatal("the video was stored while the window was closed")
	}

	setClock("2026-11-29T01:00:00") // open again
	w.eventually(20*time.Second, "the video is stored", func() bool { _, ok := w.sizes()[key]; return ok })
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s", key, got, sum)
	}
	if n := rulesPartPuts(w); n != 12 {
		t.Errorf("%d part uploads for 12 parts (%d before the window closed), want 12: none sent twice", n, held)
	}
	// The bytes sent are journaled at the rules' next look.
	w.eventually(5*time.Second, "sent_daily counts the 60 MiB", func() bool {
		return w.journalCount(`SELECT sum(bytes) FROM sent_daily`) == size
	})
	if s, _ := r.status(); s.Rules == nil || s.Rules.Holding != "" {
		t.Errorf("status once the window opened: got %+v, want nothing held", s.Rules)
	}
	w.assertNoIncomplete()
	r.stop()
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// rulesNetworkManager starts a D-Bus daemon of the test's own with a
// NetworkManager of the test's own on it, whose Metered property the test
// sets; it returns the bus address and the properties.
func rulesNetworkManager(t *testing.T, metered uint32) (string, *prop.Properties) {
	t.Helper()
	addr := dbustest.Start(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	const nm = "org.freedesktop.NetworkManager"
	props, err := prop.Export(conn, "/org/freedesktop/NetworkManager", prop.Map{nm: {"Metered": {Value: metered, Emit: prop.EmitTrue}}})
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(nm, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v, %v", nm, reply, err)
	}
	return addr, props
}

// The network turns metered while a 200 MiB video is being sent
// (NetworkManager says so over the system D-Bus, here a bus of the
// test's own): with rules.metered: pause the upload stops after its part
// in flight, and goes on when the network is no longer metered, sending
// no part twice.
func TestRun_RulesMeteredMidUpload(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	addr, nm := rulesNetworkManager(t, 4) // guess-no
	w.env = append(w.env, "DBUS_SYSTEM_BUS_ADDRESS="+addr, "CLOUDKEEP_TEST_CLOCK_FILE="+filepath.Join(w.dir, "no-clock"))
	w.top = "settle: 200ms\nrules:\n  metered: pause\n"
	w.writeConfig("  bandwidth_limit: 40MiB/s\n")
	const size, parts = 200 * MiB, 40
	sum := w.file("long.mp4", mp4Header, size, 62)
	const key = "alice/laptop/pictures/long.mp4"
	r := w.startAgent()

	w.eventually(20*time.Second, "ten parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 10
	})
	nm.SetMust("org.freedesktop.NetworkManager", "Metered", uint32(1)) // yes
	w.eventually(5*time.Second, "the status says the metered network holds uploads", func() bool {
		s, ok := r.status()
		return ok && s.Rules != nil && s.Rules.Rule == "rules.metered"
	})
	held := rulesSettled(w, time.Second)
	t.Logf("the network turned metered after %d of %d parts", held, parts)
	if held >= parts {
		t.Fatalf("all %d parts went on a metered network", held)
	}
	if text := w.run("status").stdout; !strings.Contains(text, "uploads held: metered network — rules.metered: pause\n") {
		t.Errorf("status:\n%s\nwant the line %q", text, "uploads held: metered network — rules.metered: pause")
	}
	nm.SetMust("org.freedesktop.NetworkManager", "Metered", uint32(2)) // no
	w.eventually(30*time.Second, "the video is stored", func() bool { _, ok := w.sizes()[key]; return ok })
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s", key, got, sum)
	}
	if n := rulesPartPuts(w); n != parts {
		t.Errorf("%d part uploads for %d parts (%d before the network turned metered), want %d: none sent twice", n, parts, held, parts)
	}
	w.assertNoIncomplete()
	r.stop()
}

// An agent stopped while a window holds a video half sent stops at once
// (the upload is not failed: it waits), and the next start, inside a
// window, sends only the parts not stored.
func TestRun_RulesStopWhileHeld(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	setClock := rulesClock(w, "2026-11-28T03:00:00")
	w.top = "settle: 200ms\nshutdown_grace: 30s\nrules:\n  windows: [\"01:00-06:00\"]\n"
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	const size = 40 * MiB
	sum := w.file("clip.mp4", mp4Header, size, 63)
	const key = "alice/laptop/pictures/clip.mp4"
	r := w.startAgent()
	w.eventually(20*time.Second, "two parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 2
	})
	setClock("2026-11-28T07:00:00")
	held := rulesSettled(w, time.Second)
	code, took := r.stop()
	t.Logf("held after %d of 8 parts; stopped in %s", held, took.Round(time.Millisecond))
	if code != 0 || took > 5*time.Second {
		t.Errorf("stop while held: exit %d after %s, want 0 at once (not after shutdown_grace)", code, took)
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'failed'`); n != 0 {
		t.Errorf("%d failed files after a stop while held, want 0", n)
	}
	setClock("2026-11-29T02:00:00")
	w.startAgent()
	w.eventually(20*time.Second, "the video is stored", func() bool { _, ok := w.sizes()[key]; return ok })
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s", key, got, sum)
	}
	if n := rulesPartPuts(w); n != 8 {
		t.Errorf("%d part uploads for 8 parts (%d before the stop), want 8: none sent twice", n, held)
	}
}

// A 60 MiB video held mid-upload by a closed window is rewritten in place
// (dd conv=notrunc) during the hold: when the window opens, the upload
// starts over with the new content at once; no part of the new content
// goes into the upload of the old. While held, the status marks the
// upload held, and `cloudkeep resume` says the rule still holds it.
func TestRun_RulesFileChangedWhileHeld(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	setClock := rulesClock(w, "2026-11-28T03:00:00")
	w.top = "settle: 200ms\nrules:\n  windows: [\"01:00-06:00\"]\n"
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	const size, parts = 60 * MiB, 12
	w.file("redo.mp4", mp4Header, size, 64)
	const key = "alice/laptop/pictures/redo.mp4"
	r := w.startAgent()
	w.eventually(20*time.Second, "two parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 2
	})
	setClock("2026-11-28T07:00:00")
	held := rulesSettled(w, time.Second)
	t.Logf("held after %d of %d parts", held, parts)

	text := w.run("status").stdout
	if !strings.Contains(text, "of 60 MiB (held: rules.windows)\n") {
		t.Errorf("status while held:\n%s\nwant the upload marked (held: rules.windows)", text)
	}
	if out := w.run("resume").stdout; out != "resumed\nuploads still held: outside the upload windows (next opens Sun 01:00) — rules.windows\n" {
		t.Errorf("resume while a window holds uploads: got %q", out)
	}

	path := filepath.Join(w.photos, "redo.mp4")
	dd := execCommand("dd", "if=/dev/urandom", "of="+path, "bs=1M", "count=4", "seek=40", "conv=notrunc")
	if out, err := dd.CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, out)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(content))

	setClock("2026-11-29T01:00:00")
	w.eventually(30*time.Second, "the video is stored", func() bool { _, ok := w.sizes()[key]; return ok })
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s: the content after dd", key, got, sum)
	}
	if n := rulesPartPuts(w); n != held+parts {
		t.Errorf("%d part uploads: %d before the hold, then %d; want %d: the new content whole, none of the old after the hold", n, held, n-held, held+parts)
	}
	want := (held + parts) * 5 * MiB
	w.eventually(5*time.Second, "sent_daily counts the parts before the hold and the new content once", func() bool {
		return w.journalCount(`SELECT sum(bytes) FROM sent_daily`) == want
	})
	w.assertNoIncomplete()
	r.stop()
}

// NetworkManager says the network is metered, then answers slower than
// the agent asks, then leaves the bus: the upload stays held all along
// (the last answer holds, said once in the log), and goes on once
// NetworkManager is back and says the network is not metered.
func TestRun_RulesMeteredNetworkManagerSlowOrGone(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	addr, nm, conn := dbustest.StartNetworkManager(t, 4) // guess-no
	w.env = append(w.env, "DBUS_SYSTEM_BUS_ADDRESS="+addr, "CLOUDKEEP_TEST_CLOCK_FILE="+filepath.Join(w.dir, "no-clock"))
	w.top = "settle: 200ms\nrules:\n  metered: pause\n"
	w.writeConfig("  bandwidth_limit: 10MiB/s\n")
	const size, parts = 60 * MiB, 12
	sum := w.file("slow.mp4", mp4Header, size, 65)
	const key = "alice/laptop/pictures/slow.mp4"
	r := w.startAgent()
	w.eventually(20*time.Second, "two parts are stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM parts`) >= 2
	})
	nm.Set(1, 0) // metered
	w.eventually(5*time.Second, "the metered network holds uploads", func() bool {
		s, ok := r.status()
		return ok && s.Rules != nil && s.Rules.Rule == "rules.metered"
	})
	held := rulesSettled(w, time.Second)

	nm.Set(1, 2*time.Second) // slower than the agent waits
	time.Sleep(3 * time.Second)
	if n := rulesPartPuts(w); n != held {
		t.Errorf("%d parts went while NetworkManager answered late (%d before)", n-held, held)
	}
	if s, ok := r.status(); !ok || s.Rules == nil || s.Rules.Rule != "rules.metered" {
		t.Errorf("status while NetworkManager answers late: got %+v, want held by rules.metered", s.Rules)
	}
	nm.Set(1, 0)
	if _, err := conn.ReleaseName(dbustest.NetworkManagerName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := rulesPartPuts(w); n != held {
		t.Errorf("%d parts went once NetworkManager left the bus (%d before)", n-held, held)
	}
	if text := w.run("status").stdout; !strings.Contains(text, "uploads held: metered network — rules.metered: pause\n") {
		t.Errorf("status once NetworkManager left:\n%s\nwant it held by rules.metered", text)
	}
	if n := strings.Count(r.logs.String(), "NetworkManager does not answer whether the network is metered"); n < 1 || n > 2 {
		t.Errorf("told %d times that NetworkManager does not answer, want once an outage", n)
	}
	if strings.Contains(r.logs.String(), "uploads allowed by the rules again") {
		t.Error("the log says uploads were allowed again while NetworkManager did not answer")
	}

	nm.Set(2, 0) // back, not metered
	dbustest.Own(t, conn)
	w.eventually(30*time.Second, "the video is stored", func() bool { _, ok := w.sizes()[key]; return ok })
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("object %s: sha256 %s, want %s", key, got, sum)
	}
	if n := rulesPartPuts(w); n != parts {
		t.Errorf("%d part uploads for %d parts, want %d: none sent twice", n, parts, parts)
	}
	r.stop()
}

// On Monday 03:00 the window "22:00-06:00" opened on Sunday night: the
// status says it closes at 06:00, not now; its bandwidth_limit: 0 means
// no limit in it, even under a storage.bandwidth_limit.
func TestRun_RulesWindowFromLastWeekWithoutLimit(t *testing.T) {
	t.Parallel()
	sameOnEveryServer(t, "the upload rules")
	w := newWorld(t)
	rulesClock(w, "2026-11-30T03:00:00") // Monday
	w.top = "settle: 200ms\nrules:\n  windows:\n    - {time: \"22:00-06:00\", bandwidth_limit: 0}\n"
	w.writeConfig("  bandwidth_limit: 2MiB/s\n")
	r := w.startAgent()
	// status writes the closing as seen from the real clock, not the
	// rules' one: check it in the JSON.
	closes := time.Date(2026, 11, 30, 6, 0, 0, 0, time.Local)
	if s, _ := r.status(); s.Rules == nil || s.Rules.BandwidthLimit != 0 || !s.Rules.WindowCloses.Equal(closes) {
		t.Errorf("status: got %+v, want the window open until Mon 06:00 without a bandwidth limit", s.Rules)
	}
	if text := w.run("status").stdout; !strings.Contains(text, "upload window 22:00-06:00 open until ") || strings.Contains(text, "at most") {
		t.Errorf("status:\n%s\nwant the window open, with no \"at most\"", text)
	}
	r.stop()
}
