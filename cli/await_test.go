package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/storage"
)

// When the storage refuses connections, the start check gives up with the
// refusal as the reason: it never sends a last request with no time left
// (which read "no answer within 0s" or "within -1ms").
func TestAwaitBucket_ReasonIsTheLastAnswer(t *testing.T) {
	cfg, err := (&globals{configPath: writeAgentConfig(t, closedAddr(t))}).loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	be, err := openBackend(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	for _, limit := range []time.Duration{time.Second, 1500 * time.Millisecond} {
		err = be.awaitBucket(context.Background(), limit)
		var u *storage.UnreachableError
		if !errors.As(err, &u) {
			t.Fatalf("limit %s: got %v, want an UnreachableError", limit, err)
		}
		if !strings.Contains(u.LastError, "connection refused") {
			t.Errorf("limit %s: last error %q, want the connection refused", limit, u.LastError)
		}
		if st := be.health.Status(); strings.Contains(st.LastError, "within 0s") || strings.Contains(st.LastError, "within -") {
			t.Errorf("limit %s: health's last error %q", limit, st.LastError)
		}
	}
}
