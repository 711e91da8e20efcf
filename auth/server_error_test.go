package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// serverError is the account service's answer when its database does not
// answer.
func serverError(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(wire.Error{Code: wire.ErrCodeServer, Message: "Something went wrong on our side: try again.", RetryAfter: 5})
}

// A server error while refreshing or after a refused token never signs
// the device out: the next call, once the service is back, refreshes.
func TestSession_ServerErrorIsNoSignOut(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			serverError(w)
			return
		}
		json.NewEncoder(w).Encode(wire.Tokens{AccessToken: "access-2", RefreshToken: "refresh-2", ExpiresIn: 900})
	}))
	defer srv.Close()
	f := File{Path: filepath.Join(t.TempDir(), FileName)}
	now := time.Now()
	if err := f.Save(Credentials{AccountID: "1", AccessToken: "access-1", RefreshToken: "refresh-1",
		AccessIssued: now.Add(-time.Hour), AccessExpiry: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s := NewSession(f, srv.URL, "cloudkeep-agent")
	ctx := context.Background()
	if _, err := s.AccessToken(ctx); err == nil || IsSignedOut(err) {
		t.Errorf("access token with the service failing: %v, want an error that is not signed out", err)
	}
	if _, err := s.Refused(ctx, "access-1"); err == nil || IsSignedOut(err) {
		t.Errorf("a refused token with the service failing: %v, want an error that is not signed out", err)
	}
	if ok, err := s.SignedIn(); !ok {
		t.Errorf("signed in after server errors: %v, want true", err)
	}
	down.Store(false)
	if tok, err := s.AccessToken(ctx); tok != "access-2" || err != nil {
		t.Errorf("access token with the service back: %q %v, want access-2", tok, err)
	}
}

// The device flow polls through server errors until the person answers.
func TestClient_WaitForApprovalThroughServerErrors(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch polls.Add(1) {
		case 1:
			serverError(w)
		case 2:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(wire.Error{Code: wire.ErrCodeAuthorizationPending})
		default:
			json.NewEncoder(w).Encode(wire.Tokens{AccessToken: "access", RefreshToken: "refresh", AccountID: "1"})
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &Client{URL: srv.URL, ClientID: "cloudkeep-agent"}
	tok, err := c.WaitForApproval(ctx, DeviceAuthorization{DeviceCode: "code", Interval: 1})
	if err != nil || tok.AccountID != "1" || polls.Load() != 3 {
		t.Errorf("wait for approval: %+v %v after %d polls, want account 1 after 3", tok, err, polls.Load())
	}
}
