package agent

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/alerts"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

func alertAgent() *Agent {
	a := &Agent{Device: "laptop", Log: zerolog.Nop(), Storage: storage.NewHealth("127.0.0.1:9000")}
	a.AlertAfter, a.QuietDays = time.Hour, 3
	a.track = newTracker()
	a.queue = newQueue(1<<30, 1)
	a.initAlerts()
	return a
}

func causeNames(cs []alerts.Cause) map[string]alerts.Cause {
	m := map[string]alerts.Cause{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

// What the agent knows becomes causes, each due after alert_after (a
// nearly full quota at once, nothing uploaded after quiet_days).
func TestAgent_AlertCauses(t *testing.T) {
	a := alertAgent()
	now := time.Now()
	if cs := a.alertCausesAt(now); len(cs) != 0 {
		t.Fatalf("causes of a healthy agent: %+v", cs)
	}

	down := now.Add(-10 * time.Minute)
	a.Storage.ReportAt(storage.Server{Name: storage.NameStorage, Endpoint: "127.0.0.1:9000"}, down, syscall.ECONNREFUSED)
	a.QuotaUse = func() (int64, int64, bool) { return 93 << 30, 100 << 30, true }
	photo := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(photo, []byte("x"), 0o644)
	a.track.fail(photo, errors.New("cannot read: permission denied"))
	a.track.fail(filepath.Join(t.TempDir(), "gone.jpg"), errors.New("cannot read"))
	a.queue.push(job{file: journal.File{ID: 1, Identity: journal.Identity{Size: 10}}, abs: photo})
	a.track.totals.LastUpload = now.Add(-4 * 24 * time.Hour)

	cs := causeNames(a.alertCausesAt(now))
	if c := cs[CauseStorageUnreachable]; c.Subject != "storage unreachable" || !c.Since.Equal(down) || !c.Due.Equal(down.Add(time.Hour)) {
		t.Errorf("storage: %+v, want unreachable since %s, due an hour later", c, down)
	}
	if c := cs[CauseQuota]; c.Subject != "storage 93% full (93 GiB of 100 GiB)" || !c.Due.Equal(now) {
		t.Errorf("quota: %+v, want 93%% full, due now", c)
	}
	// Off for days with a queue: the files have not waited quiet_days of
	// the agent's running time yet.
	oldest := a.queue.status().OldestPending
	if c := cs[CauseNothingUploaded]; c.Subject != "nothing uploaded while files wait" || oldest.IsZero() || !c.Due.Equal(oldest.Add(72*time.Hour)) {
		t.Errorf("nothing uploaded: %+v, want due 3 days after the files began to wait (%s)", c, oldest)
	}
	a.queue.setPaused(true)
	if c, ok := causeNames(a.alertCausesAt(now))[CauseNothingUploaded]; ok {
		t.Errorf("nothing uploaded while paused: %+v, want none", c)
	}
	a.queue.setPaused(false)
	// Failing files hold before alert_after, due after it: an alert open
	// before a restart stays open.
	if c := cs[CauseFilesFailing]; c.Subject != "1 file fails to upload" || !c.Due.Equal(now.Add(time.Hour)) {
		t.Errorf("files failing before alert_after: %+v, want due an hour after it was seen", c)
	}
	later := causeNames(a.alertCausesAt(now.Add(time.Hour)))
	if c := later[CauseFilesFailing]; c.Subject != "1 file fails to upload" || c.Detail != photo+": cannot read: permission denied" || !c.Since.Equal(now) {
		t.Errorf("files failing after alert_after: %+v, want the file that still exists, since %s", c, now)
	}

	a.track.setState(StateSignedOut)
	a.watch = &watcher{roots: []Root{{Name: "pictures", Path: "/mnt/photos"}, {Name: "phone", Path: "/srv/phone"}},
		health: map[string]*RootHealth{"pictures": {Name: "pictures", Path: "/mnt/photos"}, "phone": {Name: "phone", Path: "/srv/phone", Exists: true, Fallback: true}}}
	cs = causeNames(a.alertCausesAt(now.Add(time.Minute)))
	if c := cs[CauseSignedOut]; c.Subject != "signed out" || !c.Due.Equal(now.Add(time.Minute+time.Hour)) {
		t.Errorf("signed out: %+v, want due an hour after it was seen", c)
	}
	if c := cs[CauseWatchDegraded]; c.Subject != "2 folders not watched" ||
		c.Detail != "folder missing: /mnt/photos\nwatch limit reached (fs.inotify.max_user_watches): /srv/phone is scanned every poll interval" {
		t.Errorf("watch: %+v", c)
	}
	a.track.setState(StateRunning)
	a.watch.health["phone"].Fallback = false
	cs = causeNames(a.alertCausesAt(now.Add(2 * time.Minute)))
	if c := cs[CauseWatchDegraded]; c.Subject != "folder missing: /mnt/photos" || !c.Since.Equal(now.Add(time.Minute)) {
		t.Errorf("watch: %+v, want the missing folder since it was first seen", c)
	}
	if _, ok := cs[CauseSignedOut]; ok {
		t.Errorf("signed out after signing in again")
	}

	a.QuotaUse = func() (int64, int64, bool) { return 89 << 30, 100 << 30, true }
	if c, ok := causeNames(a.alertCausesAt(now))[CauseQuota]; ok {
		t.Errorf("quota at 89%%: %+v, want none", c)
	}
}

// An account quota alert open before a restart stays open until the
// account service tells the use again: not known is not resolved.
func TestAgent_QuotaAlertKeptUntilKnown(t *testing.T) {
	a := alertAgent()
	a.notifier.Observe(t.Context(), []alerts.Cause{{Name: CauseQuota, Subject: "storage 95% full", Since: time.Now(), Due: time.Now()}})
	known := false
	a.QuotaUse = func() (int64, int64, bool) { return 10, 100, known }
	if c, ok := causeNames(a.alertCausesAt(time.Now()))[CauseQuota]; !ok || c.Subject != "storage 95% full" {
		t.Errorf("quota not known yet: %+v, want the open alert held", c)
	}
	known = true
	if c, ok := causeNames(a.alertCausesAt(time.Now()))[CauseQuota]; ok {
		t.Errorf("quota at 10%%: %+v, want none", c)
	}
}
