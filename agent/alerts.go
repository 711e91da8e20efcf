package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudkeep/cloudkeep/alerts"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Alerting tells the person when something is wrong, once per cause, and
// when it is resolved.
type Alerting struct {
	// AlertAfter is how long a cause lasts before it is told (a quota
	// reached is told at once); default an hour.
	AlertAfter time.Duration
	// QuietDays: tell when nothing was uploaded for this many days while
	// files wait; 0: never.
	QuietDays int
	// AlertSenders deliver the alerts; without any the alerts open are
	// still kept and shown in the status.
	AlertSenders []alerts.Sender
	// QuotaUse, in account mode, returns the account's storage use as the
	// account service last told it (ok false before it told any, and
	// without a quota); nil otherwise.
	QuotaUse func() (used, quota int64, ok bool)

	notifier  *alerts.Notifier
	alertSeen map[string]time.Time // when a condition without a time of its own was first seen
	alertOpen *prometheus.GaugeVec
}

// AlertStatus is an alert open, in the status.
type AlertStatus struct {
	Cause   string    `json:"cause"`   // one of the Cause… names
	Subject string    `json:"subject"` // e.g. "storage unreachable"
	Since   time.Time `json:"since"`   // when the cause began
}

// The causes of alerts.
const (
	CauseStorageUnreachable = "storage_unreachable" // the storage (or the account service) does not answer
	CauseStorageRefused     = "storage_refused"     // the storage refused the credentials at start
	CauseSignedOut          = "signed_out"          // the device's sign-in was revoked
	CauseFilesFailing       = "files_failing"       // files fail to upload
	CauseWatchDegraded      = "watch_degraded"      // a folder missing, or watched by polling
	CauseQuota              = "quota"               // the account's storage is full
	CauseNothingUploaded    = "nothing_uploaded"    // files wait, nothing went for QuietDays
)

var alertCauses = []string{CauseStorageUnreachable, CauseStorageRefused, CauseSignedOut,
	CauseFilesFailing, CauseWatchDegraded, CauseQuota, CauseNothingUploaded}

const (
	// alertEvery is how often the causes are looked at.
	alertEvery = 2 * time.Second
	// maxAlertPaths bounds the files one alert names.
	maxAlertPaths = 10
)

func (a *Agent) initAlerts() {
	if a.AlertAfter <= 0 {
		a.AlertAfter = time.Hour
	}
	a.alertSeen = map[string]time.Time{}
	a.notifier = &alerts.Notifier{
		Senders: a.AlertSenders, Device: a.Device, Account: a.Account,
		Log:    a.Log.With().Str("component", "alerts").Logger(),
		Warmup: min(max(a.AlertAfter, 10*time.Second), time.Minute),
		Hold:   min(a.AlertAfter, time.Minute),
	}
	if a.Journal != nil {
		a.notifier.Store = a.Journal
	}
	if err := a.notifier.Load(context.Background()); err != nil {
		a.Log.Warn().Err(err).Msg("cannot read the alerts open: an alert may be told again")
	}
}

// alertLoop looks at the causes every alertEvery and delivers the alerts
// until ctx ends.
func (a *Agent) alertLoop(ctx context.Context) {
	done := make(chan struct{})
	go func() { a.notifier.Run(ctx); close(done) }()
	defer func() { <-done }()
	t := time.NewTicker(alertEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.notifier.Observe(ctx, a.alertCausesAt(time.Now()))
		a.countAlerts()
	}
}

// alertCausesAt returns what is wrong at now.
func (a *Agent) alertCausesAt(now time.Time) []alerts.Cause {
	var cs []alerts.Cause
	add := func(name, subject, detail string, since time.Time, after time.Duration) {
		cs = append(cs, alerts.Cause{Name: name, Subject: subject, Detail: detail, Since: since, Due: since.Add(after)})
	}
	if st := a.Storage.Status(); !st.Reachable {
		server := cmp.Or(st.Server, storage.NameStorage)
		add(CauseStorageUnreachable, server+" unreachable",
			fmt.Sprintf("The %s at %s does not answer: %s. Uploads wait for it.", server, st.Endpoint, st.LastError), st.Since, a.AlertAfter)
	}
	v := a.track.alertView()
	if a.StorageProblem != "" {
		add(CauseStorageRefused, "storage refuses this device", a.StorageProblem+". Fix the config, then restart cloudkeep.", v.started, a.AlertAfter)
	}
	seen := map[string]bool{}
	first := func(key string) time.Time {
		seen[key] = true
		if t, ok := a.alertSeen[key]; ok {
			return t
		}
		a.alertSeen[key] = now
		return now
	}
	if v.state == StateSignedOut {
		add(CauseSignedOut, "signed out", "The device's sign-in ended: run `cloudkeep login`. Folders are still watched; uploads wait.", first("signed_out"), a.AlertAfter)
	}
	if subject := a.quotaSubject(v); subject != "" {
		add(CauseQuota, subject, "Uploads stop when it is full: delete files, or ask for a bigger quota.", first("quota"), 0)
	} else if open, ok := a.openAlert(CauseQuota); ok && a.quotaUnknown() && !v.totals.LastUpload.After(v.started) {
		add(CauseQuota, open.Subject, "", open.Since, 0) // not known since the start: still as told
	}
	if c, ok := a.failingCause(v, first); ok {
		cs = append(cs, c)
	}
	if c, ok := a.watchCause(first); ok {
		cs = append(cs, c)
	}
	if c, ok := a.quietCause(now, v); ok {
		cs = append(cs, c)
	}
	for key := range a.alertSeen {
		if !seen[key] {
			delete(a.alertSeen, key)
		}
	}
	return cs
}

// quietCause is nothing uploaded for QuietDays while files have waited
// for QuietDays of the agent's running time. Not while the person paused
// uploads or a rule holds them: the person chose that.
func (a *Agent) quietCause(now time.Time, v alertView) (alerts.Cause, bool) {
	q := a.queue.status()
	if a.QuietDays <= 0 || q.Files == 0 || a.uploadsHeld() {
		return alerts.Cause{}, false
	}
	last, waiting := cmp.Or(v.totals.LastUpload, v.started), cmp.Or(q.OldestPending, now)
	since := last
	if waiting.After(since) {
		since = waiting
	}
	days := time.Duration(a.QuietDays) * 24 * time.Hour
	detail := fmt.Sprintf("%d files wait to be uploaded, since %s; nothing was uploaded for %d days (since %s).",
		q.Files, waiting.Local().Format("2006-01-02 15:04"), a.QuietDays, last.Local().Format("2006-01-02 15:04"))
	return alerts.Cause{Name: CauseNothingUploaded, Subject: "nothing uploaded while files wait", Detail: detail, Since: since, Due: since.Add(days)}, true
}

// uploadsHeld reports whether the person paused uploads or a rule holds
// them.
func (a *Agent) uploadsHeld() bool {
	if a.queue.isPaused() {
		return true
	}
	r := a.rules
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, held := r.verdict.Holding()
	return held
}

// quotaUnknown reports whether, in account mode, the account service has
// not told the account's use since the start.
func (a *Agent) quotaUnknown() bool {
	if a.QuotaUse == nil {
		return false
	}
	_, _, ok := a.QuotaUse()
	return !ok
}

// openAlert returns the alert open for cause.
func (a *Agent) openAlert(cause string) (journal.Alert, bool) {
	for _, o := range a.notifier.Open() {
		if o.Cause == cause {
			return o, true
		}
	}
	return journal.Alert{}, false
}

// quotaFull is the share of the quota above which the person is told.
const quotaFull = 0.9

// quotaSubject says how full the account's storage is, when it is over
// quotaFull or refused an upload for want of space; "" otherwise.
func (a *Agent) quotaSubject(v alertView) string {
	if v.quota != "" {
		return v.quota // "storage quota reached (…)"
	}
	if a.QuotaUse == nil {
		return ""
	}
	used, quota, ok := a.QuotaUse()
	if !ok || quota <= 0 || float64(used) < quotaFull*float64(quota) {
		return ""
	}
	return fmt.Sprintf("storage %d%% full (%s of %s)", used*100/quota, humanize.IBytes(uint64(used)), humanize.IBytes(uint64(quota)))
}

// failingCause is the files that fail, as one cause that names the first
// few, due AlertAfter after the first began to fail. It holds while any
// fails, due or not, so that an alert open before a restart stays open.
func (a *Agent) failingCause(v alertView, first func(string) time.Time) (alerts.Cause, bool) {
	var since time.Time
	var lines []string
	n := 0
	for _, path := range v.failing {
		t := first("file:" + path)
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			continue // gone: nothing left to back up
		}
		n++
		if since.IsZero() || t.Before(since) {
			since = t
		}
		if len(lines) < maxAlertPaths {
			lines = append(lines, path+": "+v.lastError[path])
		}
	}
	if n == 0 {
		return alerts.Cause{}, false
	}
	subject := "1 file fails to upload"
	if n > 1 {
		subject = fmt.Sprintf("%d files fail to upload", n)
	}
	detail := strings.Join(lines, "\n")
	if n > len(lines) {
		detail += fmt.Sprintf("\n… and %d more (see `cloudkeep status`).", n-len(lines))
	}
	return alerts.Cause{Name: CauseFilesFailing, Subject: subject, Detail: detail, Since: since, Due: since.Add(a.AlertAfter)}, true
}

// watchCause is the folders missing or watched by polling, as one cause.
func (a *Agent) watchCause(first func(string) time.Time) (alerts.Cause, bool) {
	if a.watch == nil {
		return alerts.Cause{}, false
	}
	var since time.Time
	var lines []string
	for _, r := range a.watch.snapshot() {
		var line string
		switch {
		case !r.Exists:
			line = "folder missing: " + r.Path
		case r.Fallback:
			line = "watch limit reached (fs.inotify.max_user_watches): " + r.Path + " is scanned every poll interval"
		default:
			continue
		}
		t := first("root:" + r.Name + ":" + line)
		if since.IsZero() || t.Before(since) {
			since = t
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return alerts.Cause{}, false
	}
	subject := lines[0]
	if len(lines) > 1 {
		subject = fmt.Sprintf("%d folders not watched", len(lines))
	}
	return alerts.Cause{Name: CauseWatchDegraded, Subject: subject, Detail: strings.Join(lines, "\n"), Since: since, Due: since.Add(a.AlertAfter)}, true
}

// alertView is what the tracker knows that alerts look at.
type alertView struct {
	state, quota string
	started      time.Time
	totals       Totals
	failing      []string          // files failed and not stored since, sorted
	lastError    map[string]string // their last error, when still among the recent errors
}

func (t *tracker) alertView() alertView {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := alertView{state: t.state, quota: t.quota, started: t.started, totals: t.totals, lastError: map[string]string{}}
	for path := range t.failures {
		v.failing = append(v.failing, path)
	}
	slices.Sort(v.failing)
	for _, e := range t.errors {
		v.lastError[e.Path] = e.Error
	}
	return v
}

func (a *Agent) fillAlerts(s *Status) {
	if a.notifier == nil {
		return
	}
	for _, o := range a.notifier.Open() {
		s.Alerts = append(s.Alerts, AlertStatus{Cause: o.Cause, Subject: o.Subject, Since: o.Since})
	}
}

func (a *Agent) alertsMetrics(reg *prometheus.Registry) {
	a.alertOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cloudkeep_alerts_open", Help: "Alerts open (told and not resolved), by cause."}, []string{"cause"})
	reg.MustRegister(a.alertOpen)
	a.countAlerts()
}

// countAlerts sets the metric of alerts open.
func (a *Agent) countAlerts() {
	if a.alertOpen == nil {
		return
	}
	open := map[string]bool{}
	for _, o := range a.notifier.Open() {
		open[o.Cause] = true
	}
	for _, c := range alertCauses {
		v := 0.0
		if open[c] {
			v = 1
		}
		a.alertOpen.WithLabelValues(c).Set(v)
	}
}
