package account

import (
	"context"
	"time"

	"github.com/dchest/captcha"
)

// Captcha makes and checks image captchas.
type Captcha interface {
	New() string                     // a new captcha's id
	Verify(id, solution string) bool // single use: the id is spent either way
}

// defaultCaptcha uses dchest/captcha with its process-wide store (see
// StoreCaptchas).
type defaultCaptcha struct{}

func (defaultCaptcha) New() string { return captcha.NewLen(6) }

func (defaultCaptcha) Verify(id, solution string) bool {
	return id != "" && solution != "" && captcha.VerifyString(id, solution)
}

// StoreCaptchas keeps captchas in store instead of one process's memory,
// so that any replica behind a load balancer can check a captcha another
// one made. It replaces dchest/captcha's process-wide store.
func StoreCaptchas(store Store) {
	captcha.SetCustomStore(captchaStore{store})
}

// captchaStore implements captcha.Store on a Store: a captcha is a code
// row, kept for as long as a PIN is.
type captchaStore struct{ store Store }

func (c captchaStore) Set(id string, digits []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.store.PutCode(ctx, Code{ID: "captcha:" + id, Purpose: "captcha", Hash: string(digits), Expires: time.Now().Add(codeTTL)})
}

func (c captchaStore) Get(id string, clear bool) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := c.store.Code(ctx, "captcha:"+id)
	if err != nil || code.Purpose != "captcha" || time.Now().After(code.Expires) {
		return nil
	}
	if clear {
		c.store.DeleteCode(ctx, code.ID)
	}
	return []byte(code.Hash)
}
