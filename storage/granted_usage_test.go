package storage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// Granted keeps the usage the account service last told, and keeps it
// through answers that tell none.
func TestGranted_Usage(t *testing.T) {
	var tell atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp := wire.GrantResponse{Results: []wire.Result{{}}}
		if tell.Load() {
			resp.Usage = &wire.Usage{Used: 930, Quota: 1000}
		}
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	g := NewGranted(srv.URL, fixedTokens{}, time.Second, zerolog.Nop())
	if _, _, ok := g.Usage(); ok {
		t.Fatal("usage known before any answer")
	}
	for _, told := range []bool{true, false} {
		tell.Store(told)
		if err := g.Abort(context.Background(), "acct/dev/a.jpg", "upload-1"); err != nil {
			t.Fatal(err)
		}
		if used, quota, ok := g.Usage(); !ok || used != 930 || quota != 1000 {
			t.Errorf("after an answer (usage told: %v): %d of %d (%v), want 930 of 1000", told, used, quota, ok)
		}
	}
}
