package account

import (
	"github.com/dchest/captcha"
)

// Captcha makes and checks image captchas.
type Captcha interface {
	New() string                     // a new captcha's id
	Verify(id, solution string) bool // single use: the id is spent either way
}

// defaultCaptcha uses dchest/captcha with its in-memory store: a captcha
// must be solved on the replica that made it (sticky sessions, or one
// replica).
type defaultCaptcha struct{}

func (defaultCaptcha) New() string { return captcha.NewLen(6) }

func (defaultCaptcha) Verify(id, solution string) bool {
	return id != "" && solution != "" && captcha.VerifyString(id, solution)
}
