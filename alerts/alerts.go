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
	Time    time.Time `json:"time"`              // when the message was made: opened or resolved
	Since   time.Time `json:"since"`             // when the cause began
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
		fmt.Fprintf(&b, "Resolved: %s (since %s).\n", a.Subject, a.Since.Local().Format("2006-01-02 15:04"))
	} else {
		fmt.Fprintf(&b, "%s since %s.\n", upperFirst(a.Subject), a.Since.Local().Format("2006-01-02 15:04"))
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
// alert may not have arrived; the Notifier tries again later. Send
// returns soon after ctx ends. Name is unique among the senders: it
// records, in the Store, which have not taken a message yet.
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

// Store keeps the alerts open, and those resolved that a sender has not
// taken yet (the journal).
type Store interface {
	Alerts(ctx context.Context) ([]journal.Alert, error)
	PutAlert(ctx context.Context, a journal.Alert) error
	DeleteAlert(ctx context.Context, cause string) error
}

// Notifier keeps the books: it tells a cause once when it is due, nothing
// while it persists, and "resolved" once when it has been gone for Hold.
// Alerts, and which senders have not taken their message yet, are kept in
// Store, so that a restart neither repeats, nor loses, nor forgets one.
// Each Sender has its own queue, tried again with backoff while it fails.
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
	// Hold is how long a cause must be gone before it is resolved: one
	// back within it continues the same alert.
	Hold time.Duration
	// RetryBase and RetryMax bound the wait before a failed send is tried
	// again: it doubles from RetryBase up to RetryMax.
	RetryBase, RetryMax time.Duration

	mu       sync.Mutex
	kept     map[string]journal.Alert // open, or resolved and not delivered everywhere
	loaded   map[string]bool          // open at Load
	gone     map[string]time.Time     // when an open alert's cause was first seen gone
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

// Load reads the alerts kept in the Store and queues again the messages
// a sender has not taken; call it once before Observe.
func (n *Notifier) Load(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.init()
	n.loadedAt = n.now()
	if n.Store == nil {
		return nil
	}
	kept, err := n.Store.Alerts(ctx)
	if err != nil {
		return err
	}
	for _, rec := range kept {
		n.kept[rec.Cause], n.loaded[rec.Cause] = rec, rec.Open()
		msg := n.message(rec)
		queued := 0
		for _, o := range n.outs {
			if slices.Contains(rec.Unsent, o.name) {
				o.push(msg)
				queued++
			}
		}
		if queued > 0 {
			n.Log.Info().Str("cause", rec.Cause).Str("state", msg.State).Int("senders", queued).Msg("alert not delivered before the stop: sending it again")
		}
		if !rec.Open() && queued == 0 { // its senders are gone from the config
			delete(n.kept, rec.Cause)
			n.record(ctx, func() error { return n.Store.DeleteAlert(ctx, rec.Cause) })
		}
	}
	return nil
}

func (n *Notifier) init() {
	if n.kept == nil {
		n.kept, n.loaded, n.gone = map[string]journal.Alert{}, map[string]bool{}, map[string]time.Time{}
	}
	if n.outs == nil {
		for _, s := range n.Senders {
			n.outs = append(n.outs, newOutbox(s, n))
		}
	}
}

// message is the message of rec's state.
func (n *Notifier) message(rec journal.Alert) Alert {
	a := Alert{Cause: rec.Cause, State: StateOpen, Subject: rec.Subject, Detail: rec.Detail, Time: rec.Told, Since: rec.Since, Device: n.Device}
	if !rec.Open() {
		a.State, a.Time = StateResolved, rec.Resolved
		a.Detail = fmt.Sprintf("It lasted %s.", rec.Resolved.Sub(rec.Since).Round(time.Second))
	}
	if n.Account != nil {
		a.Account = n.Account()
	}
	return a
}

// Observe is told every cause that holds now, due or not: it opens those
// due and not open yet, and resolves the open ones gone for Hold.
func (n *Notifier) Observe(ctx context.Context, causes []Cause) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.init()
	now := n.now()
	holds := map[string]bool{}
	for _, c := range causes {
		holds[c.Name] = true
		delete(n.gone, c.Name)
		if rec, ok := n.kept[c.Name]; (ok && rec.Open()) || now.Before(c.Due) {
			continue
		}
		n.open(ctx, journal.Alert{Cause: c.Name, Subject: c.Subject, Detail: c.Detail, Since: c.Since, Told: now, Unsent: n.names()})
	}
	for _, name := range slices.Sorted(maps.Keys(n.kept)) {
		rec := n.kept[name]
		if !rec.Open() || holds[name] {
			continue
		}
		if _, ok := n.gone[name]; !ok {
			n.gone[name] = now
		}
		if now.Sub(n.gone[name]) < n.Hold || (n.loaded[name] && now.Sub(n.loadedAt) < n.Warmup) {
			continue
		}
		n.resolve(ctx, rec, now)
	}
}

// open records rec and tells it to every sender; n.mu is held.
func (n *Notifier) open(ctx context.Context, rec journal.Alert) {
	if !n.record(ctx, func() error { return n.Store.PutAlert(ctx, rec) }) {
		return // told once it is recorded: never twice
	}
	n.kept[rec.Cause] = rec
	n.tell(n.message(rec), n.outs)
}

// resolve records rec resolved at now and tells the senders that took its
// opening. A sender that never did is told nothing: the person was not
// told of it, and nothing is wrong any more. n.mu is held.
func (n *Notifier) resolve(ctx context.Context, rec journal.Alert, now time.Time) {
	var to []*outbox
	var unsent []string
	for _, o := range n.outs {
		if slices.Contains(rec.Unsent, o.name) && o.drop(rec.Cause) {
			continue
		}
		to, unsent = append(to, o), append(unsent, o.name)
	}
	rec.Resolved, rec.Unsent = now, unsent
	write := func() error { return n.Store.PutAlert(ctx, rec) }
	if len(unsent) == 0 {
		write = func() error { return n.Store.DeleteAlert(ctx, rec.Cause) }
	}
	if !n.record(ctx, write) {
		return
	}
	n.kept[rec.Cause] = rec
	if len(unsent) == 0 {
		delete(n.kept, rec.Cause)
	}
	delete(n.loaded, rec.Cause)
	delete(n.gone, rec.Cause)
	n.tell(n.message(rec), to)
}

// delivered notes that sender took a: once every sender took a resolved
// alert, it is forgotten.
func (n *Notifier) delivered(ctx context.Context, a Alert, sender string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	rec, ok := n.kept[a.Cause]
	if !ok || !rec.Since.Equal(a.Since) || rec.Open() != (a.State == StateOpen) || !slices.Contains(rec.Unsent, sender) {
		return
	}
	rec.Unsent = slices.DeleteFunc(slices.Clone(rec.Unsent), func(s string) bool { return s == sender })
	if !rec.Open() && len(rec.Unsent) == 0 {
		if n.record(ctx, func() error { return n.Store.DeleteAlert(ctx, rec.Cause) }) {
			delete(n.kept, rec.Cause)
		}
		return
	}
	if n.record(ctx, func() error { return n.Store.PutAlert(ctx, rec) }) {
		n.kept[rec.Cause] = rec
	}
}

func (n *Notifier) names() []string {
	names := make([]string, len(n.outs))
	for i, o := range n.outs {
		names[i] = o.name
	}
	return names
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

// tell queues a for the senders to; n.mu is held.
func (n *Notifier) tell(a Alert, to []*outbox) {
	n.Log.Info().Str("cause", a.Cause).Str("state", a.State).Msg("alert " + a.State + ": " + a.Subject)
	for _, o := range to {
		o.push(a)
	}
}

// Open returns the alerts open, by cause.
func (n *Notifier) Open() []journal.Alert {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []journal.Alert
	for _, name := range slices.Sorted(maps.Keys(n.kept)) {
		if n.kept[name].Open() {
			out = append(out, n.kept[name])
		}
	}
	return out
}

// Run delivers the alerts told until ctx ends, and then logs how many
// messages were left unsent.
func (n *Notifier) Run(ctx context.Context) {
	n.mu.Lock()
	n.init()
	outs := n.outs
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, o := range outs {
		wg.Go(func() { o.run(ctx) })
	}
	wg.Wait()
	left := 0
	for _, o := range outs {
		left += o.len()
	}
	if left > 0 {
		ev := n.Log.Warn().Int("messages", left)
		if n.Store != nil {
			ev.Msg("alert messages left unsent: they are sent at the next start")
		} else {
			ev.Msg("alert messages left unsent")
		}
	}
}
