package account

import (
	"cmp"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

//go:embed web/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"inc":   func(i int) int { return i + 1 },
	"field": func(p page, name string) fieldRef { return fieldRef{Fields: p.Fields, Name: name} },
}).ParseFS(pageFiles, "web/*.html"))

type fieldRef struct {
	Fields FieldErrors
	Name   string
}

// page is what every template gets.
type page struct {
	Title, Notice, Error string
	CSRF                 string
	Fields               FieldErrors
	// sign-up
	By, CaptchaID        string
	Form                 map[string]string
	Regions              []Region
	DialCodes            []string
	Months               []string
	Days                 []int
	BirthMonth, BirthDay int
	BirthYear            string
	// codes
	ID, SentTo, Action, ResendAction, Button, Next string
	// results
	AccountID, AddressKind string
	// devices
	UserCode, DeviceName, Done string
	Account                    Account
	Devices                    []Device
	Usage                      string   // storage: "1.2 GiB of 50 GiB used"
	Connecting                 []string // approved devices still to collect their tokens
	Refresh                    string   // reload this address in a few seconds
	// gallery: Nav shows the header's links (the account page shows them
	// too), Wide gives the page the window's width for the photo grid.
	Nav, Wide bool
}

// handler serves the pages and the API.
type handler struct {
	svc  *Service
	cfg  Config
	log  zerolog.Logger
	tls  bool  // cookies are Secure
	gate *Gate // the storage gate; nil without storage

	tokens verifiedTokens // access tokens verified before
}

// Cookie names.
const (
	sessionCookie = "ck_session"
	csrfCookie    = "ck_csrf"
)

// NewHandler returns the service's HTTP handler: pages, API, OIDC.
func NewHandler(svc *Service, log zerolog.Logger, opts ...HandlerOption) http.Handler {
	h := &handler{svc: svc, cfg: svc.cfg, log: log.With().Str("component", "http").Logger(),
		tls: strings.HasPrefix(svc.cfg.Issuer, "https://")}
	for _, o := range opts {
		o(h)
	}
	mux := http.NewServeMux()
	h.routesAPI(mux)
	h.routesStorage(mux)
	h.routesOIDC(mux)
	h.routesPages(mux)
	h.routesGallery(mux)
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /captcha/{file}", serveCaptcha)
	return h.secure(mux)
}

// secure adds the security headers, checks the CSRF token of page forms,
// and logs each request without its query or body.
func (h *handler) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if h.tls {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		rw := &statusWriter{ResponseWriter: w, status: 200}
		r.Body = http.MaxBytesReader(rw, r.Body, bodyLimit(r))
		if r.Method == http.MethodPost && r.URL.Path == "/photos/download" && r.ParseForm() != nil {
			// Go reads at most 10,000 values of a form: more is not a stale token.
			h.renderGallery(rw, r, http.StatusRequestEntityTooLarge, "photos.html", galleryView{page: page{Title: "Photos",
				Error: "Too many photos chosen at once: choose fewer, or download a day, a month or all shown."}})
		} else if r.Method == http.MethodPost && !strings.HasPrefix(r.URL.Path, "/api/") && !h.validCSRF(r) {
			h.render(rw, r, http.StatusForbidden, "signin.html", page{Title: "Sign in",
				Error: "This form expired: please try again."})
		} else {
			next.ServeHTTP(rw, r)
		}
		h.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", rw.status).
			Dur("took_ms", time.Since(start)).Msg("request")
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// csrfToken returns the form token for this browser, setting its cookie
// on first use: the token is a keyed hash of the cookie (double submit).
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && len(c.Value) >= 20 {
		value = c.Value
	} else {
		value = randomToken(24)
		http.SetCookie(w, h.cookie(csrfCookie, value, 0))
	}
	return keyedHash(h.svc.secret, "csrf", value)
}

func (h *handler) validCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil {
		return false
	}
	return equalHash(r.PostFormValue("csrf"), keyedHash(h.svc.secret, "csrf", c.Value))
}

func (h *handler) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: h.tls,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())}
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.CSRF = h.csrfToken(w, r)
	if p.Fields == nil {
		p.Fields = FieldErrors{}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, p); err != nil {
		h.log.Error().Err(err).Str("page", name).Msg("render")
	}
}

// show renders a page after a service error: field errors next to their
// fields, other errors at the top.
func (h *handler) show(w http.ResponseWriter, r *http.Request, name string, p page, err error) {
	var fe FieldErrors
	var e *Error
	switch {
	case errors.As(err, &fe):
		p.Fields = fe
		h.render(w, r, http.StatusBadRequest, name, p)
	case errors.As(err, &e):
		p.Error = e.Message
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
		}
		h.render(w, r, e.Status, name, p)
	default:
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
		p.Error = "Something went wrong on our side: try again."
		h.render(w, r, http.StatusInternalServerError, name, p)
	}
}

// signedIn returns the account of the request's session: "" without one
// (no cookie, an unknown or expired session), and an error when the store
// did not answer, which is no reason to sign in again.
func (h *handler) signedIn(r *http.Request) (string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	id, err := h.svc.SessionAccount(r.Context(), c.Value)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return id, err
}

// storeDownPage answers a page request the store could not serve: 503,
// to be tried again in a while, rather than a sign-in form that would
// not work either.
func (h *handler) storeDownPage(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error().Err(err).Str("path", r.URL.Path).Msg("store down")
	w.Header().Set("Retry-After", strconv.Itoa(int(storeDownRetry.Seconds())))
	h.render(w, r, http.StatusServiceUnavailable, "message", page{Title: "Try again in a minute",
		Error: "The service cannot reach its database right now: try again in a minute."})
}

// storeDownRetry is the Retry-After of a page the store could not serve.
const storeDownRetry = 30 * time.Second

// localNext returns next when it is a path on this site, and fallback
// otherwise. Browsers drop tabs and newlines from a URL and read "\" as
// "/", so "/\t/evil.example" and "/\\evil.example" lead off-site: next must
// be valid UTF-8 without control characters, white space or backslashes,
// parse as a URL without scheme, host or user, and start with exactly one
// "/".
func localNext(next, fallback string) string {
	if !utf8.ValidString(next) || strings.ContainsFunc(next, func(r rune) bool {
		return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\'
	}) {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return fallback
	}
	return next
}

var months = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

func (h *handler) signupPage(by string, form map[string]string) page {
	if by != "phone" {
		by = "email"
	}
	if form["DialCode"] == "" {
		form["DialCode"] = DialCode(form["Region"])
	}
	p := page{Title: "Create your account", By: by, Form: form, Regions: Regions(), DialCodes: DialCodes(), Months: months}
	for d := 1; d <= 31; d++ {
		p.Days = append(p.Days, d)
	}
	p.BirthMonth, _ = strconv.Atoi(form["birth_month"])
	p.BirthDay, _ = strconv.Atoi(form["birth_day"])
	p.BirthYear = form["birth_year"]
	if by == "phone" {
		p.CaptchaID = h.svc.NewCaptcha()
	}
	return p
}

func formValues(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return m
}

func (h *handler) routesPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/account", http.StatusSeeOther) })
	mux.HandleFunc("GET /signup", func(w http.ResponseWriter, r *http.Request) {
		region := regionFromLanguages(r.Header.Get("Accept-Language"))
		h.render(w, r, 200, "signup.html", h.signupPage(r.URL.Query().Get("by"), map[string]string{"Region": region}))
	})
	mux.HandleFunc("POST /signup", h.postSignup)
	mux.HandleFunc("GET /signup/verify", func(w http.ResponseWriter, r *http.Request) {
		h.showSignupCode(w, r, r.URL.Query().Get("id"), nil)
	})
	mux.HandleFunc("POST /signup/verify", h.postSignupVerify)
	mux.HandleFunc("POST /signup/resend", h.postSignupResend)
	mux.HandleFunc("GET /signup/password", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, 200, "password.html", page{Title: "Choose a password", ID: r.URL.Query().Get("id")})
	})
	mux.HandleFunc("POST /signup/password", h.postSignupPassword)
	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, 200, "signin.html", h.signinPage(r, r.URL.Query().Get("next"), nil))
	})
	mux.HandleFunc("POST /signin", h.postSignin)
	mux.HandleFunc("POST /signin/verify", h.postSigninVerify)
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			h.svc.EndSession(r.Context(), c.Value)
		}
		http.SetCookie(w, h.cookie(sessionCookie, "", -time.Second))
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /device", h.getDevice)
	mux.HandleFunc("POST /device", h.postDevice)
	mux.HandleFunc("GET /account", h.getAccount)
	mux.HandleFunc("POST /account/devices/disconnect", h.postDisconnect)
}

func (h *handler) postSignup(w http.ResponseWriter, r *http.Request) {
	form := formValues(r, "by", "email", "dial_code", "phone", "region", "birth_month", "birth_day", "birth_year", "captcha_id", "captcha")
	form["DialCode"], form["Email"], form["Phone"], form["Region"] = form["dial_code"], form["email"], form["phone"], form["region"]
	req := SignupRequest{Region: form["region"], CaptchaID: form["captcha_id"], Captcha: form["captcha"],
		BirthDate: birthDate(form["birth_year"], form["birth_month"], form["birth_day"])}
	if form["by"] == "phone" {
		req.DialCode, req.Phone = cmp.Or(form["dial_code"], DialCode(form["region"])), form["phone"]
		if req.Phone == "" {
			req.Phone = " " // "enter a valid number", not "enter an email"
		}
	} else {
		req.Email = form["email"]
		if req.Email == "" {
			req.Email = " "
		}
	}
	req.IP = h.clientIP(r)
	id, err := h.svc.StartSignup(r.Context(), req)
	if err != nil {
		h.show(w, r, "signup.html", h.signupPage(form["by"], form), err)
		return
	}
	http.Redirect(w, r, "/signup/verify?id="+url.QueryEscape(id), http.StatusSeeOther)
}

func birthDate(y, m, d string) string {
	year, e1 := strconv.Atoi(y)
	month, e2 := strconv.Atoi(m)
	day, e3 := strconv.Atoi(d)
	if e1 != nil || e2 != nil || e3 != nil {
		return ""
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day { // February 30th
		return ""
	}
	return t.Format(time.DateOnly)
}

func (h *handler) codePage(r *http.Request, id string) (page, error) {
	to, _, err := h.svc.SignupAddress(r.Context(), id)
	p := page{Title: "Verify it's you", ID: id, SentTo: to, Action: "/signup/verify", ResendAction: "/signup/resend", Button: "Verify"}
	if err == nil && h.svc.SignupByPhone(r.Context(), id) {
		p.CaptchaID = h.svc.NewCaptcha() // a new code by text message needs it
	}
	return p, err
}

func (h *handler) showSignupCode(w http.ResponseWriter, r *http.Request, id string, err error) {
	p, perr := h.codePage(r, id)
	if perr != nil {
		h.show(w, r, "signup.html", h.signupPage("email", map[string]string{}), perr)
		return
	}
	if err != nil {
		h.show(w, r, "code.html", p, err)
		return
	}
	h.render(w, r, 200, "code.html", p)
}

func (h *handler) postSignupVerify(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	if err := h.svc.VerifySignup(r.Context(), id, r.PostFormValue("code")); err != nil {
		h.showSignupCode(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/signup/password?id="+url.QueryEscape(id), http.StatusSeeOther)
}

func (h *handler) postSignupResend(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	if err := h.svc.ResendSignup(r.Context(), ResendRequest{ID: id, CaptchaID: r.PostFormValue("captcha_id"),
		Captcha: r.PostFormValue("captcha"), IP: h.clientIP(r)}); err != nil {
		h.showSignupCode(w, r, id, err)
		return
	}
	p, _ := h.codePage(r, id)
	p.Notice = "A new code is on its way."
	h.render(w, r, 200, "code.html", p)
}

func (h *handler) postSignupPassword(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	account, err := h.svc.FinishSignup(r.Context(), id, r.PostFormValue("password"), r.PostFormValue("confirm"))
	if err != nil {
		h.show(w, r, "password.html", page{Title: "Choose a password", ID: id}, err)
		return
	}
	a, _ := h.svc.Account(r.Context(), account)
	kind := "email address"
	if a.Phone != "" {
		kind = "phone number"
	}
	h.render(w, r, 200, "done.html", page{Title: "Welcome to cloudkeep", AccountID: account, AddressKind: kind})
}

func (h *handler) signinPage(r *http.Request, next string, form map[string]string) page {
	p := page{Title: "Sign in", Next: localNext(next, "/account"), Form: form}
	if h.svc.CaptchaRequired(r.Context(), h.clientIP(r)) {
		p.CaptchaID = h.svc.NewCaptcha()
	}
	return p
}

func (h *handler) postSignin(w http.ResponseWriter, r *http.Request) {
	form := formValues(r, "username")
	form["Username"] = form["username"]
	next := r.PostFormValue("next")
	c, err := h.svc.StartSignin(r.Context(), SigninRequest{Username: form["username"], Password: r.PostFormValue("password"),
		CaptchaID: r.PostFormValue("captcha_id"), Captcha: r.PostFormValue("captcha"), IP: h.clientIP(r)})
	if err != nil {
		p := h.signinPage(r, next, form)
		if isErr(err, ErrCaptchaRequired) && p.CaptchaID == "" {
			p.CaptchaID = h.svc.NewCaptcha() // the user name's counter asks for it
		}
		h.show(w, r, "signin.html", p, err)
		return
	}
	h.render(w, r, 200, "code.html", page{Title: "Enter your code", ID: c.ID, SentTo: c.SentTo,
		Action: "/signin/verify", Button: "Sign in", Next: localNext(next, "/account")})
}

func (h *handler) postSigninVerify(w http.ResponseWriter, r *http.Request) {
	id, next := r.PostFormValue("id"), localNext(r.PostFormValue("next"), "/account")
	account, err := h.svc.VerifySignin(r.Context(), id, r.PostFormValue("code"), h.clientIP(r))
	if err != nil {
		p := page{Title: "Enter your code", ID: id, Action: "/signin/verify", Button: "Sign in", Next: next, SentTo: "your email or phone"}
		if isErr(err, ErrCodeExpired) || isErr(err, ErrTooManyTries) {
			h.show(w, r, "signin.html", h.signinPage(r, next, nil), err)
			return
		}
		h.show(w, r, "code.html", p, err)
		return
	}
	token, err := h.svc.NewSession(r.Context(), account)
	if err != nil {
		h.show(w, r, "signin.html", h.signinPage(r, next, nil), err)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, token, sessionTTL))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// requireSignIn sends the browser to sign in and back, or answers 503
// when the store cannot tell whether it is signed in.
func (h *handler) requireSignIn(w http.ResponseWriter, r *http.Request) string {
	account, err := h.signedIn(r)
	if err != nil {
		h.storeDownPage(w, r, err)
		return ""
	}
	if account == "" {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	}
	return account
}

func (h *handler) getDevice(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	p := page{Title: "Connect a device", UserCode: code}
	if code == "" {
		h.render(w, r, 200, "device.html", p)
		return
	}
	name, err := h.svc.PendingDevice(r.Context(), code)
	if err != nil {
		p.Fields = FieldErrors{"user_code": err.Error()}
		h.render(w, r, http.StatusBadRequest, "device.html", p)
		return
	}
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	p.DeviceName, p.AccountID, p.UserCode = name, account, normalizeUserCode(code)
	h.render(w, r, 200, "device.html", p)
}

func (h *handler) postDevice(w http.ResponseWriter, r *http.Request) {
	account, err := h.signedIn(r)
	if err != nil {
		h.storeDownPage(w, r, err)
		return
	}
	if account == "" {
		http.Redirect(w, r, "/signin?next=/device", http.StatusSeeOther)
		return
	}
	approve := r.PostFormValue("answer") == "approve"
	p := page{Title: "Connect a device"}
	if err := h.svc.ApproveDevice(r.Context(), r.PostFormValue("user_code"), account, approve); err != nil {
		p.Fields = FieldErrors{"user_code": err.Error()}
		h.render(w, r, http.StatusBadRequest, "device.html", p)
		return
	}
	p.Done = "Not connected. You can close this page."
	if approve {
		p.Done = "Device connected. You can close this page; the device finishes signing in by itself."
	}
	h.render(w, r, 200, "device.html", p)
}

func (h *handler) getAccount(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	h.accountPage(w, r, account, "")
}

func (h *handler) accountPage(w http.ResponseWriter, r *http.Request, id, notice string) {
	ctx := r.Context()
	a, err := h.svc.Account(ctx, id)
	if err != nil {
		h.show(w, r, "signin.html", h.signinPage(r, "/account", nil), err)
		return
	}
	devices, err := h.svc.Devices(ctx, id)
	if err != nil {
		h.show(w, r, "signin.html", h.signinPage(r, "/account", nil), err)
		return
	}
	connecting, err := h.svc.ConnectingDevices(ctx, id)
	if err != nil {
		h.show(w, r, "signin.html", h.signinPage(r, "/account", nil), err)
		return
	}
	p := page{Title: "Your account", Account: a, Devices: devices, Connecting: connecting, Notice: notice,
		Usage: h.usageText(ctx, id)}
	if len(connecting) > 0 {
		p.Refresh = "/account" // until the devices have collected their tokens
	}
	h.render(w, r, 200, "account.html", p)
}

func (h *handler) postDisconnect(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	notice := "Device disconnected: it can no longer upload."
	if err := h.svc.Disconnect(r.Context(), account, r.PostFormValue("device_id")); err != nil {
		notice = "That device is not connected."
	}
	h.accountPage(w, r, account, notice)
}
