package account

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dchest/captcha"
)

// TestCaptcha_StoreSolvedOnce: a captcha kept in the store is spent by
// the first check; of 100 parallel checks with the right digits, one
// passes.
func TestCaptcha_StoreSolvedOnce(t *testing.T) { forEachStore(t, testCaptchaStoreSolvedOnce) }

func testCaptchaStoreSolvedOnce(t *testing.T, newEnv func(testing.TB) *env) {
	e := newEnv(t)
	captcha.SetCustomStore(captchaStore{e.svc.store})
	t.Cleanup(func() { captcha.SetCustomStore(captchas) })
	id := captcha.NewLen(captchaDigits)
	digits := captchaStore{e.svc.store}.Get(id, false)
	solution := make([]byte, len(digits))
	for i, d := range digits {
		solution[i] = '0' + d
	}
	var passed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			if (defaultCaptcha{}).Verify(id, string(solution)) {
				passed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := passed.Load(); n != 1 {
		t.Errorf("%d of 100 parallel checks of one captcha passed, want 1", n)
	}
}
