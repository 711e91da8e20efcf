package storage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/auth"
)

func TestHeldGrants_Take(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	op := wire.Op{Op: wire.OpPut, Key: "acct/dev/a.jpg", Size: 10, CRC32C: "AAAAAA==", Meta: &wire.Meta{SHA256: "ab", Device: "dev"}}
	changed := op
	changed.CRC32C = "BBBBBB=="
	otherMeta := op
	otherMeta.Meta = &wire.Meta{SHA256: "cd", Device: "dev"}
	grant := wire.Result{Method: "PUT", URL: "http://storage/a", Expires: now.Add(time.Minute)}
	tests := []struct {
		name     string
		take     wire.Op
		at       time.Time
		answered time.Time
		dropped  bool
		want     bool
	}{
		{"same put", op, now, now, false, true},
		{"changed content", changed, now, now, false, false},
		{"other metadata", otherMeta, now, now, false, false},
		{"too close to its expiry", op, now.Add(time.Minute - heldMargin), now.Add(time.Minute - heldMargin), false, false},
		{"service not heard from lately", op, now.Add(heldFresh), now, false, false},
		{"dropped after a refusal", op, now, now, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h heldGrants
			h.put([]wire.Op{op}, []wire.Result{grant}, now)
			h.heard(tt.answered)
			if tt.dropped {
				h.drop()
			}
			if got, ok := h.take(tt.take, tt.at); ok != tt.want || (ok && got.URL != grant.URL) {
				t.Errorf("take: got %v %+v, want %v", ok, got, tt.want)
			}
			if _, ok := h.take(op, now); ok && tt.want {
				t.Errorf("a held grant was used twice")
			}
		})
	}
}

// fixedTokens hands out one access token and cannot renew it.
type fixedTokens struct{}

func (fixedTokens) AccessToken(context.Context) (string, error) { return "token", nil }
func (fixedTokens) Refused(context.Context, string) (string, error) {
	return "", auth.ErrSignedOut
}

// TestNewGranted_RequestTimeout: the account service accepts a grant call
// and never answers; the call fails after the configured request timeout,
// not after the fixed grant timeout.
func TestNewGranted_RequestTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stop)
	g := NewGranted(srv.URL, fixedTokens{}, 200*time.Millisecond, zerolog.Nop())
	_, err := g.Stat(context.Background(), "acct/dev/a.jpg")
	// The stall timeout of the connection, or of the wait for the answer's
	// headers, whichever fires first; not the grant call's own deadline.
	if err == nil || !(strings.Contains(err.Error(), "i/o timeout") || strings.Contains(err.Error(), "timeout awaiting response headers")) {
		t.Fatalf("stat: %v, want the request timeout", err)
	}
}
