package account

import (
	"bytes"
	"context"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/dchest/captcha"
)

// A captcha is 5 digits drawn on a 360×144 picture: fewer and larger
// digits than dchest/captcha's 6 on 240×80, whose fixed noise and wave
// then cover less of each digit.
const (
	captchaDigits = 5
	captchaWidth  = 360
	captchaHeight = 144
)

// Captcha makes and checks image captchas.
type Captcha interface {
	New() string                     // a new captcha's id
	Verify(id, solution string) bool // single use: the id is spent either way
}

// defaultCaptcha uses dchest/captcha with its process-wide store (see
// StoreCaptchas).
type defaultCaptcha struct{}

func (defaultCaptcha) New() string { return captcha.NewLen(captchaDigits) }

func (defaultCaptcha) Verify(id, solution string) bool {
	return id != "" && solution != "" && captcha.VerifyString(id, solution)
}

// captchaImagePath is where the picture of captcha id is served.
func captchaImagePath(id string) string { return "/captcha/" + id + ".png" }

// captchaAudioPath is where the same digits are served read aloud.
func captchaAudioPath(id string) string { return "/captcha/" + id + ".wav" }

// serveCaptcha answers GET /captcha/{file}: ID.png is the picture (PNG),
// ID.wav the digits read aloud (WAV; ?lang=ru, ja or zh for another
// language, English otherwise). An unknown id or extension is 404. Neither
// shows nor spends the solution.
func serveCaptcha(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ext := path.Ext(file)
	id := strings.TrimSuffix(file, ext)
	var b bytes.Buffer
	var err error
	switch ext {
	case ".png":
		w.Header().Set("Content-Type", "image/png")
		err = captcha.WriteImage(&b, id, captchaWidth, captchaHeight)
	case ".wav":
		w.Header().Set("Content-Type", "audio/wav")
		err = captcha.WriteAudio(&b, id, r.URL.Query().Get("lang"))
	default:
		err = captcha.ErrNotFound
	}
	if id == "" || err != nil {
		w.Header().Del("Content-Type")
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(b.Bytes()))
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
	text := make([]byte, len(digits)) // as text: PostgreSQL's text holds no NUL
	for i, d := range digits {
		text[i] = '0' + d
	}
	c.store.PutCode(ctx, Code{ID: "captcha:" + id, Purpose: "captcha", Hash: string(text), Expires: time.Now().Add(codeTTL)})
}

func (c captchaStore) Get(id string, clear bool) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := c.store.Code(ctx, "captcha:"+id)
	if err != nil || code.Purpose != "captcha" || time.Now().After(code.Expires) {
		return nil
	}
	if clear { // spent once: of parallel checks, one deletes it
		if _, err := c.store.ConsumeCode(ctx, code.ID, code.Hash, time.Now()); err != nil {
			return nil
		}
	}
	digits := []byte(code.Hash)
	for i := range digits {
		digits[i] -= '0'
	}
	return digits
}
