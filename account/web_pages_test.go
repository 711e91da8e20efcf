package account

import (
	"bytes"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webClient is a browser without a browser: it keeps cookies, fills in
// each form's CSRF token and does not follow redirects.
type webClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches path with the given headers (name, value pairs) and returns
// the answer and its body.
func (c *webClient) get(path string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// post submits a page form with the last page's CSRF token.
func (c *webClient) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *webClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

// signIn signs the client in with the web pages and returns where the
// service sent it afterwards.
func (c *webClient) signIn(e *env, next, user, password string) string {
	c.t.Helper()
	c.get("/signin?next=" + url.QueryEscape(next))
	resp, body := c.post("/signin", url.Values{"username": {user}, "password": {password}, "next": {next}})
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		c.t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	form := url.Values{"id": {m[1]}, "code": {e.lastCode(user)}}
	if n := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(body); n != nil {
		form.Set("next", n[1])
	}
	resp, body = c.post("/signin/verify", form)
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-in code: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

func TestLocalNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/account", "/account"},
		{"/device?user_code=WDJB-MJHT", "/device?user_code=WDJB-MJHT"},
		{"/account#devices", "/account#devices"},
		{"/\t/evil.example/x", "/fallback"}, // ?next=/%09/evil.example/x
		{"/\n/evil.example", "/fallback"},
		{"/\r\n/evil.example", "/fallback"},
		{"\t//evil.example", "/fallback"},
		{"/ /evil.example", "/fallback"},
		{"/\u00a0/evil.example", "/fallback"},
		{"/\u2028/evil.example", "/fallback"},
		{"/\x00/evil.example", "/fallback"},
		{"/\x7f/evil.example", "/fallback"},
		{"/\xff/evil.example", "/fallback"},
		{"//evil.example", "/fallback"},
		{"///evil.example", "/fallback"},
		{"/\\evil.example", "/fallback"},
		{"\\\\evil.example", "/fallback"},
		{"/account\\..\\\\evil.example", "/fallback"},
		{"https://evil.example/", "/fallback"},
		{"http:evil.example", "/fallback"},
		{"javascript:alert(1)", "/fallback"},
		{"evil.example", "/fallback"},
		{"account", "/fallback"},
		{"", "/fallback"},
		{"/%zz", "/fallback"},
	} {
		if got := localNext(tc.next, "/fallback"); got != tc.want {
			t.Errorf("localNext(%q): got %q, want %q", tc.next, got, tc.want)
		}
	}
}

// After signing in, a crafted next= never leads off this site.
func TestWeb_SigninNextStaysOnSite(t *testing.T) {
	e := newEnv(t)
	e.signup("ada@example.com", "lovelace1815")
	for _, tc := range []struct{ next, want string }{
		{"/\t/evil.example/x", "/account"},
		{"/\\evil.example", "/account"},
		{"//evil.example", "/account"},
		{"/device?user_code=WDJB-MJHT", "/device?user_code=WDJB-MJHT"},
	} {
		c := newWebClient(t, e.url)
		if got := c.signIn(e, tc.next, "ada@example.com", "lovelace1815"); got != tc.want {
			t.Errorf("next %q: redirected to %q, want %q", tc.next, got, tc.want)
		}
	}
	// The attack from the report, as its URL was written.
	c := newWebClient(t, e.url)
	if _, body := c.get("/signin?next=/%09/evil.example/x"); !strings.Contains(body, `name="next" value="/account"`) {
		t.Errorf("the sign-in page keeps the crafted next:\n%s", body)
	}
}

// Between approval and the device's next poll the account page shows the
// device as connecting, not "No device is connected".
func TestWeb_AccountShowsConnectingDevice(t *testing.T) {
	e := newEnv(t)
	e.signup("grace@example.com", "hopper1906")
	c := newWebClient(t, e.url)
	c.signIn(e, "/account", "grace@example.com", "hopper1906")
	_, d := e.call("POST", "/api/v1/device/authorize", map[string]string{"client_id": "cloudkeep-agent", "device_name": "laptop"})
	c.get("/device?user_code=" + d["user_code"].(string))
	if resp, body := c.post("/device", url.Values{"user_code": {d["user_code"].(string)}, "answer": {"approve"}}); resp.StatusCode != 200 {
		t.Fatalf("approve: %d %s", resp.StatusCode, body)
	}

	_, body := c.get("/account")
	if !strings.Contains(body, "laptop — connecting…") || strings.Contains(body, "No device is connected") {
		t.Errorf("account page right after approval, want laptop — connecting…:\n%s", body)
	}
	if !strings.Contains(body, `<meta http-equiv="refresh" content="3; url=/account">`) {
		t.Errorf("account page while connecting does not reload itself:\n%s", body)
	}

	e.clock.advance(10 * time.Second)
	if code, r := e.call("POST", "/api/v1/token", map[string]string{"grant_type": grantDeviceCode, "client_id": "cloudkeep-agent",
		"device_code": d["device_code"].(string)}); code != 200 {
		t.Fatalf("token: %d %v", code, r)
	}
	_, body = c.get("/account")
	if strings.Contains(body, "connecting…") || !strings.Contains(body, "<td>laptop</td>") || strings.Contains(body, "http-equiv") {
		t.Errorf("account page after the device collected its tokens:\n%s", body)
	}
}

// The captcha picture is larger, and the same digits can be heard.
func TestWeb_CaptchaAudio(t *testing.T) {
	e := newEnv(t)
	_, c := e.call("GET", "/api/v1/captcha", nil)
	id := c["captcha_id"].(string)
	if got, want := c["audio_url"], e.url+"/captcha/"+id+".wav"; got != want {
		t.Errorf("audio_url: got %v, want %s", got, want)
	}
	if n := len(captchaSolution(id)); n != captchaDigits {
		t.Errorf("the captcha has %d digits, want %d", n, captchaDigits)
	}
	resp, err := http.Get(e.url + "/captcha/" + id + ".wav")
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" ||
		len(wav) < 1000 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Errorf("audio: %d %q, %d bytes, want 200 audio/wav RIFF…WAVE", resp.StatusCode, resp.Header.Get("Content-Type"), len(wav))
	}
	resp, err = http.Get(e.url + "/captcha/" + id + ".png")
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cfg, err := png.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width != captchaWidth || cfg.Height != captchaHeight {
		t.Errorf("picture: %+v, %v, want %d×%d PNG", cfg, err, captchaWidth, captchaHeight)
	}
	if !equalCaptcha(id, captchaSolution(id)) {
		t.Error("serving the captcha spent it")
	}
	for _, path := range []string{"/captcha/" + id + ".mp3", "/captcha/nosuchid.wav", "/captcha/.wav"} {
		if resp, err := httpGet(e.url + path); err != nil || resp.StatusCode != 404 {
			t.Errorf("GET %s: %v %v, want 404", path, resp.StatusCode, err)
		}
	}

	_, page := newWebClient(t, e.url).get("/signup?by=phone")
	m := regexp.MustCompile(`name="captcha_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no captcha on the phone sign-up page:\n%s", page)
	}
	link := `<a class="captcha-audio" id="captcha-audio" href="/captcha/` + m[1] + `.wav" target="_blank" rel="noopener">Listen to the code</a>`
	if !strings.Contains(page, link) {
		t.Errorf("the sign-up page lacks %s", link)
	}
}

// equalCaptcha checks a solution without spending the captcha.
func equalCaptcha(id, solution string) bool {
	digits := captchas.Get(id, false)
	var b strings.Builder
	for _, d := range digits {
		b.WriteByte('0' + d)
	}
	return digits != nil && b.String() == solution
}

var selectedRE = regexp.MustCompile(`<option value="([^"]*)"(?: data-dial="[^"]*")? selected>`)

// selected returns the selected option values of a page, in order.
func selected(page string) []string {
	var out []string
	for _, m := range selectedRE.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// The dial code follows the region: from Accept-Language on the first
// visit, from the region chosen when the form comes back.
func TestWeb_SignupDialCodeFollowsRegion(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		lang string
		want []string // dial code, region
	}{
		{"de-DE,de;q=0.9,en;q=0.8", []string{"+49", "DE"}},
		{"de-AT", []string{"+43", "AT"}},
		{"en-GB,en;q=0.5", []string{"+44", "GB"}},
		{"fr", []string{"+33", "FR"}},
		{"en-US", []string{"+1", "US"}},
		{"", nil},
		{"*", nil},
	} {
		_, page := newWebClient(t, e.url).get("/signup?by=phone", "Accept-Language", tc.lang)
		if got := selected(page); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("Accept-Language %q: selected %v, want %v", tc.lang, got, tc.want)
		}
	}

	c := newWebClient(t, e.url)
	c.get("/signup?by=phone", "Accept-Language", "en-US")
	_, page := c.post("/signup", url.Values{"by": {"phone"}, "dial_code": {""}, "phone": {"12"}, "region": {"AT"},
		"birth_year": {"1990"}, "birth_month": {"4"}, "birth_day": {"1"}})
	if got := selected(page); strings.Join(got, " ") != "+43 AT 4 1" {
		t.Errorf("sent back with region AT and no dial code: selected %v, want [+43 AT 4 1]", got)
	}
	if !strings.Contains(html.UnescapeString(page), `<option value="TR" data-dial="+90">Türkiye</option>`) {
		t.Error("region options lack their dial codes")
	}
	if !strings.Contains(page, `<script src="/static/signup.js"></script>`) {
		t.Error("the phone sign-up page does not load signup.js")
	}
	resp, js := c.get("/static/signup.js")
	if resp.StatusCode != 200 || !strings.Contains(js, `getAttribute("data-dial")`) {
		t.Errorf("signup.js: %d %q", resp.StatusCode, js)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q does not allow the page's own script", csp)
	}
}

func TestRegionFromLanguages(t *testing.T) {
	for in, want := range map[string]string{
		"de-CH, de;q=0.9": "CH", "pt-BR": "BR", "pt": "BR", "ja": "JP", "en": "US", "": "", "xx-QQ": "", "garbage;;q=": "",
	} {
		if got := regionFromLanguages(in); got != want {
			t.Errorf("regionFromLanguages(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestRegions_CurrentNames(t *testing.T) {
	names := map[string]string{}
	for _, r := range Regions() {
		names[r.Code] = r.Name
		for _, old := range []string{"Swaziland", "Macedonia", "Turkey", "Czech Republic", "Cape Verde", "Burma", "&", "St. "} {
			if r.Name == old || old == "&" && strings.Contains(r.Name, old) || old == "St. " && strings.HasPrefix(r.Name, old) {
				t.Errorf("%s is named %q", r.Code, r.Name)
			}
		}
	}
	for code, want := range map[string]string{
		"SZ": "Eswatini", "MK": "North Macedonia", "TR": "Türkiye", "CZ": "Czechia", "CV": "Cabo Verde", "MM": "Myanmar",
		"BA": "Bosnia and Herzegovina", "KN": "Saint Kitts and Nevis", "DE": "Germany",
	} {
		if names[code] != want {
			t.Errorf("%s: got %q, want %q", code, names[code], want)
		}
	}
	if got := DialCode("SZ"); got != "+268" {
		t.Errorf("DialCode(SZ): got %q, want +268", got)
	}
	if got := DialCode("QQ"); got != "" {
		t.Errorf("DialCode(QQ): got %q, want empty", got)
	}
	// Alphabetical in English: Åland sorts with A, Türkiye with T.
	rs := Regions()
	idx := func(code string) int {
		for i, r := range rs {
			if r.Code == code {
				return i
			}
		}
		return -1
	}
	if !(idx("AX") < idx("AL") && idx("TN") < idx("TR") && idx("TR") < idx("TM")) {
		t.Errorf("order: Åland %d Albania %d, Tunisia %d Türkiye %d Turkmenistan %d", idx("AX"), idx("AL"), idx("TN"), idx("TR"), idx("TM"))
	}
}
