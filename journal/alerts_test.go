package journal_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// Alerts outlast a reopening of the journal, one per cause, with the
// senders that have not taken them yet.
func TestJournal_Alerts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	since := time.Unix(1772370120, 5)
	for _, a := range []journal.Alert{
		{Cause: "storage_unreachable", Subject: "storage unreachable", Since: since, Told: since},
		{Cause: "files_failing", Subject: "1 file fails to upload", Since: since},
		{Cause: "files_failing", Subject: "2 files fail to upload", Detail: "a.jpg: denied", Since: since.Add(time.Minute),
			Told: since.Add(time.Hour), Unsent: []string{"webhook", "email"}},
		{Cause: "quota", Subject: "storage quota reached", Since: since, Told: since, Resolved: since.Add(time.Hour), Unsent: []string{"ntfy"}},
	} {
		if err := j.PutAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.DeleteAlert(ctx, "storage_unreachable"); err != nil {
		t.Fatal(err)
	}
	if err := j.DeleteAlert(ctx, "never_open"); err != nil {
		t.Errorf("forgetting an alert not kept: %v", err)
	}
	j.Close()
	j = open(t, path)
	got, err := j.Alerts(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v %v, want files_failing and quota", got, err)
	}
	if f := got[0]; f.Cause != "files_failing" || f.Subject != "2 files fail to upload" || f.Detail != "a.jpg: denied" ||
		!f.Since.Equal(since.Add(time.Minute)) || !f.Told.Equal(since.Add(time.Hour)) || !f.Open() || !slices.Equal(f.Unsent, []string{"webhook", "email"}) {
		t.Errorf("got %+v, want files_failing as last recorded", f)
	}
	if q := got[1]; q.Cause != "quota" || q.Open() || !q.Resolved.Equal(since.Add(time.Hour)) || !slices.Equal(q.Unsent, []string{"ntfy"}) {
		t.Errorf("got %+v, want quota resolved, unsent to ntfy", q)
	}
	if open, err := j.OpenAlerts(ctx); err != nil || len(open) != 1 || open[0].Cause != "files_failing" {
		t.Errorf("open alerts: %+v %v, want files_failing alone", open, err)
	}
}
