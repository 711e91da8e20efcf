package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

func TestBackoff_Do(t *testing.T) {
	transient := errors.New("connection reset")
	quota := &QuotaError{Used: 1, Quota: 2}
	denied := &PermanentError{&S3Error{Status: 403, Code: "AccessDenied"}}
	for _, tc := range []struct {
		name      string
		errs      []error // returned by successive calls; nil after the last
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", nil, 1, nil},
		{"rides out transient errors", []error{transient, transient}, 3, nil},
		{"gives up after the attempts", []error{transient, transient, transient, transient, transient}, 4, transient},
		{"does not retry a permanent error", []error{denied}, 1, denied},
		{"does not retry an unreadable file", []error{&PermanentError{io.ErrUnexpectedEOF}}, 1, io.ErrUnexpectedEOF},
		{"does not retry a missing object", []error{ErrNotFound}, 1, ErrNotFound},
		{"does not retry a full account", []error{quota}, 1, quota},
		{"asks again at once after an expired grant", []error{ErrExpired}, 2, nil},
		{"rides out a call that timed out inside", []error{fmt.Errorf("grant: %w", context.DeadlineExceeded)}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := Backoff{Attempts: 4, Base: time.Second, Cap: 4 * time.Second}
				calls := 0
				start := time.Now()
				err := b.Do(context.Background(), zerolog.Nop(), "op", func() error {
					calls++
					if calls <= len(tc.errs) {
						return tc.errs[calls-1]
					}
					return nil
				})
				if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) {
					t.Errorf("got %d calls and %v, want %d and %v", calls, err, tc.wantCalls, tc.wantErr)
				}
				// Jittered delays: half to full of 1s, 2s, 4s (capped).
				if waited, most := time.Since(start), time.Duration(calls-1)*4*time.Second; waited > most {
					t.Errorf("waited %s, more than the cap allows (%s)", waited, most)
				}
			})
		})
	}
}

func TestBackoff_StopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		b := Backoff{Attempts: 100, Base: time.Second, Cap: time.Minute}
		err := b.Do(ctx, zerolog.Nop(), "op", func() error { return errors.New("down") })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's error", err)
		}
	})
}

// A deadline that ran out inside a call (the account service did not
// answer a grant call in time) is the other side's failure, not the
// caller's end: it is tried again, and when the attempts run out the error
// must not pass for a cancellation, or the agent would drop the file as
// "interrupted" while it still runs.
func TestBackoff_InnerTimeoutIsTransient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := Backoff{Attempts: 3, Base: time.Second, Cap: time.Second}
		calls := 0
		err := b.Do(context.Background(), zerolog.Nop(), "op", func() error {
			calls++
			return fmt.Errorf("reach the account service: %w", context.DeadlineExceeded)
		})
		if calls != 3 {
			t.Errorf("got %d calls, want 3", calls)
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || IsPermanent(err) {
			t.Errorf("got %v, want a transient error that is no context error", err)
		}
		if want := "reach the account service: context deadline exceeded"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	})
}

func TestQuotaError_Message(t *testing.T) {
	for _, tc := range []struct {
		used, quota int64
		want        string
	}{
		{52506667418, 50 << 30, "storage quota reached (48.9 of 50 GiB)"},
		{50 << 30, 50 << 30, "storage quota reached (50 of 50 GiB)"},
		{1 << 20, 1536 << 20, "storage quota reached (0 of 1.5 GiB)"},
		{7 << 20, 10 << 20, "storage quota reached (7 of 10 MiB)"},
	} {
		if got := (&QuotaError{Used: tc.used, Quota: tc.quota}).Error(); got != tc.want {
			t.Errorf("QuotaError{%d, %d}: got %q, want %q", tc.used, tc.quota, got, tc.want)
		}
	}
}
