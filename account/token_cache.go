package account

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokensMax bounds the access tokens verifiedTokens remembers.
const verifiedTokensMax = 4096

// verifiedTokens remembers the claims of access tokens whose signature was
// verified, by the token's SHA-256, until the token expires: a device
// sends the same token with every grant call, and checking its ES256
// signature is most of the cost of a call's authentication. Only the
// signature check is skipped: expiry, issuer and audience are checked on
// every call, and so is the device (bearer reads its row every time).
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]accessClaims
}

// get returns the claims of token if it was verified before and has not
// expired at now.
func (v *verifiedTokens) get(token string, now time.Time) (accessClaims, bool) {
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[sum]
	if ok && (c.Expiry == nil || !now.Before(c.Expiry.Time())) {
		delete(v.m, sum)
		return accessClaims{}, false
	}
	return c, ok
}

// put remembers the claims c of a verified token.
func (v *verifiedTokens) put(token string, c accessClaims, now time.Time) {
	if c.Expiry == nil {
		return
	}
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= verifiedTokensMax {
		for k, old := range v.m {
			if !now.Before(old.Expiry.Time()) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= verifiedTokensMax {
			clear(v.m)
		}
	}
	if v.m == nil {
		v.m = map[[sha256.Size]byte]accessClaims{}
	}
	v.m[sum] = c
}
