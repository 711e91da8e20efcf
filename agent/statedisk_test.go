package agent

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/cloudkeep/cloudkeep/uploader"
)

type sqliteError int

func (e sqliteError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e sqliteError) Code() int     { return int(e) }

func TestIsDiskFull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{fmt.Errorf("mark done 3: %w", sqliteError(13)), true},
		{fmt.Errorf("track: %w", sqliteError(13|(1<<8))), true}, // an extended SQLITE_FULL
		{sqliteError(5), false},                                 // SQLITE_BUSY
		{&os.PathError{Op: "write", Path: "/s/journal.db-wal", Err: syscall.ENOSPC}, true},
		{errors.New("database or disk is full (13)"), true},
	} {
		if got := isDiskFull(tc.err); got != tc.want {
			t.Errorf("isDiskFull(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Status lists are never nil (JSON [] rather than null), and the files
// stored lately come newest first.
func TestTracker_FillListsNewestFirst(t *testing.T) {
	tr := newTracker()
	var s Status
	tr.fill(&s)
	if s.Errors == nil || s.Recent == nil || s.Uploads == nil {
		t.Errorf("empty lists are nil: errors %v, recent %v, uploads %v", s.Errors, s.Recent, s.Uploads)
	}
	for i, p := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		j := job{abs: p}
		j.file.ID = int64(i + 1)
		tr.remember(j, outStored, uploader.Result{Key: p})
	}
	tr.fill(&s)
	if got := []string{s.Recent[0].Path, s.Recent[1].Path, s.Recent[2].Path}; fmt.Sprint(got) != "[c.jpg b.jpg a.jpg]" {
		t.Errorf("recent %v, want newest first [c.jpg b.jpg a.jpg]", got)
	}
}

func TestProbeRoom(t *testing.T) {
	dir := t.TempDir()
	if err := probeRoom(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the probe left %d file(s)", len(left))
	}
	if err := probeRoom(dir + "/missing"); err == nil {
		t.Error("a probe in a missing folder succeeded")
	}
}
