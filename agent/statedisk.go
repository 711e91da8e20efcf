package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// isDiskFull reports whether err says the disk of the state directory is
// full: SQLite's SQLITE_FULL ("database or disk is full") or ENOSPC.
func isDiskFull(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == 13 { // SQLITE_FULL and its extended codes
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "database or disk is full")
}

// StateDirFull reports whether err, met opening or writing the journal in
// dir, comes from a full disk: err says so, or a small probe write in dir
// fails with ENOSPC (SQLite may report it as a plain I/O error).
func StateDirFull(dir string, err error) bool {
	if err == nil {
		return false
	}
	return isDiskFull(err) || errors.Is(probeRoom(dir), syscall.ENOSPC)
}

// stateFullMessage is what the log and the status say while the state
// disk is full.
func stateFullMessage(dir string) string {
	return fmt.Sprintf("state_dir %s is full: free space; cloudkeep carries on by itself", dir)
}

// stateFull stops uploads because nothing can be journaled; it logs once,
// and awaitStateRoom lets them go again once the disk has room.
func (a *Agent) stateFull(err error) {
	msg := stateFullMessage(a.StateDir)
	if !a.track.setStateFull(msg) {
		return
	}
	a.queue.setStateFull(true)
	a.Log.Error().Str("state_dir", a.StateDir).Str("error", err.Error()).Msg(msg)
	select {
	case a.full <- struct{}{}:
	default:
	}
}

// awaitStateRoom probes the state directory every StateProbe while its
// disk is full; once a probe file fits, uploads go on and every root is
// scanned again for the files that could not be journaled meanwhile.
func (a *Agent) awaitStateRoom(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.full:
		}
		if !pollUntil(ctx, a.StateProbe, func() bool { return probeRoom(a.StateDir) == nil }) {
			return
		}
		a.track.setStateFull("")
		a.queue.setStateFull(false)
		a.Log.Info().Str("state_dir", a.StateDir).Msg("state_dir has room again: carrying on")
		for _, r := range a.Roots {
			select {
			case a.rescans <- r:
			default:
			}
		}
	}
}

// probeSize is written to tell whether the state disk has room again:
// enough for the journal to commit a few transactions.
const probeSize = 256 << 10

// probeRoom writes probeSize bytes to a file in dir, syncs and removes it.
func probeRoom(dir string) error {
	f, err := os.CreateTemp(dir, ".cloudkeep-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
