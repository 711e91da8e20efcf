package journal_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

// Alerts open outlast a reopening of the journal; one per cause.
func TestJournal_OpenAlerts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path)
	since := time.Unix(1772370120, 5)
	for _, a := range []journal.OpenAlert{
		{Cause: "storage_unreachable", Subject: "storage unreachable", Since: since},
		{Cause: "files_failing", Subject: "1 file fails to upload", Since: since},
		{Cause: "files_failing", Subject: "2 files fail to upload", Since: since.Add(time.Minute)},
	} {
		if err := j.OpenAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.CloseAlert(ctx, "storage_unreachable"); err != nil {
		t.Fatal(err)
	}
	if err := j.CloseAlert(ctx, "never_open"); err != nil {
		t.Errorf("closing an alert not open: %v", err)
	}
	j.Close()
	got, err := open(t, path).OpenAlerts(ctx)
	if err != nil || len(got) != 1 || got[0].Cause != "files_failing" || got[0].Subject != "2 files fail to upload" || !got[0].Since.Equal(since.Add(time.Minute)) {
		t.Errorf("got %+v %v, want files_failing alone, as last recorded", got, err)
	}
}
