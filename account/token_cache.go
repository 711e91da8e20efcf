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
// every call, and so is the device (bearer reads its row every time). The
// tokens are forgotten when the signing keys change: a token whose key
// was rotated out is checked again, and refused.
type verifiedTokens struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte]accessClaims
	keys *keySet // the keys the tokens in m were verified with
}

// get returns the claims of token if it was verified before with keys and
// has not expired at now.
func (v *verifiedTokens) get(token string, keys *keySet, now time.Time) (accessClaims, bool) {
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.useKeys(keys)
	c, ok := v.m[sum]
	if ok && (c.Expiry == nil || !now.Before(c.Expiry.Time())) {
		delete(v.m, sum)
		return accessClaims{}, false
	}
	return c, ok
}

// useKeys forgets the tokens verified with other keys than keys.
func (v *verifiedTokens) useKeys(keys *keySet) {
	if v.keys != keys {
		clear(v.m)
		v.keys = keys
	}
}

// put remembers the claims c of a token verified with keys.
func (v *verifiedTokens) put(token string, c accessClaims, keys *keySet, now time.Time) {
	if c.Expiry == nil {
		return
	}
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	v.useKeys(keys)
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
