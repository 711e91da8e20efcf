package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
)

// The thumbnail phase says in one line what it made, and what is left
// when it was stopped early.
func TestPrintThumbSummary(t *testing.T) {
	for _, c := range []struct {
		name string
		sum  agent.ThumbSummary
		err  error
		want string
	}{
		{"whole", agent.ThumbSummary{Photos: 500, Done: 500, Made: 499, Failed: 1}, nil,
			"499 thumbnails made, 1 failed in 2.5s\n"},
		{"found", agent.ThumbSummary{Photos: 3, Done: 3, Made: 1, Found: 2}, nil,
			"1 thumbnail made, 0 failed, 2 found stored in 2.5s\n"},
		{"interrupted", agent.ThumbSummary{Photos: 500, Done: 120, Made: 120}, context.Canceled,
			"120 thumbnails made, 0 failed in 2.5s; 380 left (interrupted): made by `cloudkeep run` or the next backup\n"},
		{"storage", agent.ThumbSummary{Photos: 500, Done: 7, Made: 7, Stopped: errors.New("connection refused")}, nil,
			"7 thumbnails made, 0 failed in 2.5s; 493 left (connection refused): made by `cloudkeep run` or the next backup\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			printThumbSummary(&b, c.sum, c.err, 2500*time.Millisecond)
			if b.String() != c.want {
				t.Errorf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

// On a terminal the phase draws "thumbnails 120/500" in place, and clears
// it at the end.
func TestThumbLine(t *testing.T) {
	var b bytes.Buffer
	l := &thumbLine{w: &b}
	l.show(1, 500)
	l.show(2, 500) // within 100 ms: not drawn
	l.show(500, 500)
	l.clear()
	want := "\rthumbnails 1/500" + "\rthumbnails 500/500" + "\r" + strings.Repeat(" ", 18) + "\r"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
