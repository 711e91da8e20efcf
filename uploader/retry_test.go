package uploader

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
)

func TestBackoff_Do(t *testing.T) {
	transient := errors.New("connection reset")
	denied := minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}
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

func TestLimitReader_Paces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, size = 4 << 20, 8 << 20
		r := ratelimit.ReadSeeker(context.Background(), bytes.NewReader(make([]byte, size)), ratelimit.New(rate))
		start := time.Now()
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != size {
			t.Fatalf("copied %d, %v", n, err)
		}
		// The burst is free; the rest goes at the rate.
		want := time.Duration(float64(size-ratelimit.Burst) / rate * float64(time.Second))
		if got := time.Since(start); got < want-10*time.Millisecond || got > want+100*time.Millisecond {
			t.Errorf("8 MiB at 4 MiB/s took %s, want about %s", got, want)
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			t.Errorf("the limited reader must stay seekable for retries: %v", err)
		}
	})
}
