package account

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/auth"
)

// The device's client and the service agree on every body: sign-in, the
// device flow, /me, refresh and revoke, and typed errors.
func TestWire_ClientAgainstService(t *testing.T) {
	e := newEnv(t)
	acct := e.signup("lin@example.com", "goodpass1")
	ctx := context.Background()
	c := &auth.Client{URL: e.url, ClientID: "cloudkeep-agent"}

	_, err := c.Signin(ctx, "lin@example.com", "wrongpass1")
	if !auth.IsCode(err, "invalid_credentials") || err.Error() != ErrBadCredentials.Message {
		t.Errorf("wrong password: got %v, want invalid_credentials", err)
	}
	ch, err := c.Signin(ctx, "lin@example.com", "goodpass1")
	if err != nil || ch.ID == "" || ch.SentTo == "" {
		t.Fatalf("sign in: %+v, %v", ch, err)
	}
	_, err = c.SigninVerify(ctx, ch.ID, "000000", "laptop")
	var apiErr *auth.APIError
	if !auth.IsCode(err, wire.ErrCodeWrongCode) || !errors.As(err, &apiErr) || apiErr.Body.TriesLeft == nil || apiErr.Status != 400 {
		t.Errorf("wrong code: got %#v, want 400 wrong_code with tries left", err)
	}
	tok, err := c.SigninVerify(ctx, ch.ID, e.lastCode("lin@example.com"), "laptop")
	if err != nil || tok.AccountID != acct || tok.TokenType != "Bearer" || tok.RefreshToken == "" {
		t.Fatalf("tokens: %+v, %v", tok, err)
	}

	me, err := c.Me(ctx, tok.AccessToken)
	if err != nil || me.AccountID != acct || me.Device != "laptop" || me.DeviceID != tok.DeviceID ||
		me.Expires.Before(time.Now().Add(10*time.Minute)) {
		t.Errorf("me: %+v, %v", me, err)
	}
	if _, err := c.Me(ctx, "not-a-token"); !auth.IsRevoked(err) {
		t.Errorf("me with a bad token: got %v, want invalid_token", err)
	}

	next, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v, %v", next, err)
	}
	if err := c.Revoke(ctx, next.RefreshToken); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := c.Refresh(ctx, next.RefreshToken); !auth.IsRevoked(err) {
		t.Errorf("refresh after revoke: got %v, want invalid_grant", err)
	}

	d, err := c.AuthorizeDevice(ctx, "phone")
	if err != nil || d.DeviceCode == "" || d.VerificationURI != e.url+"/device" {
		t.Fatalf("authorize: %+v, %v", d, err)
	}
	if err := e.svc.ApproveDevice(ctx, d.UserCode, acct, true); err != nil {
		t.Fatal(err)
	}
	d.Interval = 0 // poll at once
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if tok, err := c.WaitForApproval(wctx, d); err != nil || tok.AccountID != acct {
		t.Errorf("device flow: %+v, %v", tok, err)
	}
}
