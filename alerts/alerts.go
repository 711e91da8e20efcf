// Package alerts tells the person when something is wrong with the backup
// — once per cause, when the cause has lasted long enough — and once more
// when it is resolved, through a webhook, ntfy, email or a desktop
// notification. Which causes exist is the agent's business: the Notifier
// only keeps the books.
package alerts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
)

// The states of an alert.
const (
	StateOpen     = "open"
	StateResolved = "resolved"
)

// Alert is one message: a cause opened or resolved. It is the body of a
// webhook's POST.
type Alert struct {
	Cause   string    `json:"cause"`   // e.g. "storage_unreachable"
	State   string    `json:"state"`   // StateOpen or StateResolved
	Subject string    `json:"subject"` // e.g. "storage unreachable"
	Detail  string    `json:"detail"`  // what a person needs to know to act
	Device  string    `json:"device"`
	Account string    `json:"account,omitempty"` // the signed-in account, in account mode
	Time    time.Time `json:"time"`              // when the cause began
}

// Title is the alert's one line: "cloudkeep on laptop: storage
// unreachable", or "… resolved: storage unreachable".
func (a Alert) Title() string {
	t := "cloudkeep on " + a.Device + ": "
	if a.State == StateResolved {
		t += "resolved: "
	}
	return t + a.Subject
}

// Text is the alert's body in plain text.
func (a Alert) Text() string {
	var b strings.Builder
	if a.State == StateResolved {
		fmt.Fprintf(&b, "Resolved: %s (since %s).\n", a.Subject, a.Time.Local().Format("2006-01-02 15:04"))
	} else {
		fmt.Fprintf(&b, "%s since %s.\n", upperFirst(a.Subject), a.Time.Local().Format("2006-01-02 15:04"))
	}
	if a.Detail != "" {
		b.WriteString("\n" + a.Detail + "\n")
	}
	if a.State == StateOpen {
		b.WriteString("\nRun `cloudkeep status` on " + a.Device + " for more.\n")
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Sender delivers an alert to one place. Send returns an error when the
// alert may not have arrived; the Notifier tries again later.
type Sender interface {
	Name() string // for the log: "webhook", "ntfy", "email", "desktop"
	Send(ctx context.Context, a Alert) error
}

// Cause is something wrong now, as the agent sees it.
type Cause struct {
	Name    string    // one alert per name, e.g. "storage_unreachable"
	Subject string    // e.g. "storage unreachable"
	Detail  string    // e.g. the endpoint and the last error
	Since   time.Time // when it began
	Due     time.Time // when to tell, if it still holds then
}

// Store keeps the alerts open (the journal).
type Store interface {
	OpenAlerts(ctx context.Context) ([]journal.OpenAlert, error)
	OpenAlert(ctx context.Context, a journal.OpenAlert) error
	CloseAlert(ctx context.Context, cause string) error
}

// Notifier keeps the books: it tells a cause once when it is due, nothing
// while it persists, and "resolved" once when it is gone. Open alerts are
// kept in Store, so that a restart neither repeats nor forgets one. Each
// Sender has its own queue, tried again with backoff while it fails.
type Notifier struct {
	Senders []Sender
	Store   Store
	Device  string
	Account func() string // may be nil
	Log     zerolog.Logger
	Now     func() time.Time // time.Now when nil; tests set a fake clock
	// Warmup: an alert open at Load is not resolved before this long
	// after it, while the agent learns again what is wrong.
	Warmup time.Duration
	// RetryBase and RetryMax bound the wait before a failed send is tried
	// again: it doubles from RetryBase up to RetryMax.
	RetryBase, RetryMax time.Duration

	mu       sync.Mutex
	open     map[string]journal.OpenAlert
	loaded   map[string]bool // open at Load
	loadedAt time.Time
	outs     []*outbox
	failing  bool // the store could not be written: logged once
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// Load reads the alerts open from the Store; call it once before Observe.
func (n *Notifier) Load(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.open, n.loaded, n.loadedAt = map[string]journal.OpenAlert{}, map[string]bool{}, n.now()
	if n.outs == nil {
		for _, s := range n.Senders {
			n.outs = append(n.outs, newOutbox(s, n))
		}
	}
	if n.Store == nil {
		return nil
	}
	open, err := n.Store.OpenAlerts(ctx)
	if err != nil {
		return err
	}
	for _, a := range open {
		n.open[a.Cause], n.loaded[a.Cause] = a, true
	}
	return nil
}

// Observe is told every cause that holds now: it opens those due and not
// open yet, and resolves the open ones that no longer hold.
func (n *Notifier) Observe(ctx context.Context, causes []Cause) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.open == nil {
		n.open, n.loaded = map[string]journal.OpenAlert{}, map[string]bool{}
	}
	now := n.now()
	holds := map[string]bool{}
	for _, c := range causes {
		holds[c.Name] = true
		if _, ok := n.open[c.Name]; ok || now.Before(c.Due) {
			continue
		}
		rec := journal.OpenAlert{Cause: c.Name, Subject: c.Subject, Since: c.Since}
		if !n.record(ctx, func() error { return n.Store.OpenAlert(ctx, rec) }) {
			continue // told once it is recorded: never twice
		}
		n.open[c.Name] = rec
		n.tell(Alert{Cause: c.Name, State: StateOpen, Subject: c.Subject, Detail: c.Detail, Time: c.Since})
	}
	for _, name := range slices.Sorted(maps.Keys(n.open)) {
		if holds[name] || (n.loaded[name] && now.Sub(n.loadedAt) < n.Warmup) {
			continue
		}
		rec := n.open[name]
		if !n.record(ctx, func() error { return n.Store.CloseAlert(ctx, name) }) {
			continue
		}
		delete(n.open, name)
		delete(n.loaded, name)
		detail := fmt.Sprintf("It lasted %s.", now.Sub(rec.Since).Round(time.Second))
		n.tell(Alert{Cause: name, State: StateResolved, Subject: rec.Subject, Detail: detail, Time: rec.Since})
	}
}

// record writes a change to the Store; a failure is logged once until a
// write succeeds again. n.mu is held.
func (n *Notifier) record(ctx context.Context, write func() error) bool {
	if n.Store == nil {
		return true
	}
	err := write()
	switch {
	case err == nil && n.failing:
		n.failing = false
		n.Log.Info().Msg("alerts recorded again")
	case err != nil && !n.failing && ctx.Err() == nil:
		n.failing = true
		n.Log.Warn().Err(err).Msg("cannot record an alert in the journal: it waits")
	}
	return err == nil
}

// tell queues a for every sender; n.mu is held.
func (n *Notifier) tell(a Alert) {
	a.Device = n.Device
	if n.Account != nil {
		a.Account = n.Account()
	}
	n.Log.Info().Str("cause", a.Cause).Str("state", a.State).Msg("alert " + a.State + ": " + a.Subject)
	for _, o := range n.outs {
		o.push(a)
	}
}

// Open returns the alerts open, by cause.
func (n *Notifier) Open() []journal.OpenAlert {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]journal.OpenAlert, 0, len(n.open))
	for _, name := range slices.Sorted(maps.Keys(n.open)) {
		out = append(out, n.open[name])
	}
	return out
}

// Run delivers the alerts told until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	n.mu.Lock()
	outs := n.outs
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, o := range outs {
		wg.Go(func() { o.run(ctx) })
	}
	wg.Wait()
}
