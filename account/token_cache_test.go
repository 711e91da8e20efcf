package account

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestVerifiedTokens_ForgetsExpiredAndStaysBounded(t *testing.T) {
	var v verifiedTokens
	now := time.Now()
	c := accessClaims{Claims: jwt.Claims{Subject: "a", Expiry: jwt.NewNumericDate(now.Add(time.Minute))}}
	v.put("tok", c, nil, now)
	if got, ok := v.get("tok", nil, now); !ok || got.Subject != "a" {
		t.Fatalf("get = %+v, %v; want the claims", got, ok)
	}
	if _, ok := v.get("other", nil, now); ok {
		t.Fatal("an unknown token was found")
	}
	if _, ok := v.get("tok", nil, now.Add(2*time.Minute)); ok {
		t.Fatal("an expired token was still found")
	}
	v.put("noexp", accessClaims{}, nil, now)
	if _, ok := v.get("noexp", nil, now); ok {
		t.Fatal("a token without expiry was kept")
	}
	for i := range verifiedTokensMax + 10 {
		v.put(fmt.Sprint(i), c, nil, now)
	}
	if n := len(v.m); n > verifiedTokensMax {
		t.Fatalf("%d tokens kept, want at most %d", n, verifiedTokensMax)
	}
}
