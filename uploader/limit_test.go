package uploader

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
)

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
