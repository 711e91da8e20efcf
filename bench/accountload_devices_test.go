package bench

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// loadClient is the simulated devices' side of the account load: every
// device has its own account, its own client address (X-Forwarded-For,
// which the replicas trust from 127.0.0.1) and its own tokens, and asks
// the replicas in turn, as a load balancer would send its requests.
type loadClient struct {
	urls     []string
	next     atomic.Uint64
	http     *http.Client
	outbox   *outbox
	photo    []byte
	crc      string // base64 CRC32C of photo
	noPhotos bool   // ask for grants only: store no photo, commit none
	stats    *loadStats
}

func newLoadClient(urls, outboxes []string, devices, photoSize int) *loadClient {
	photo := bytes.Repeat([]byte("cloudkeep load photo "), photoSize/21+1)[:photoSize]
	sum := binary.BigEndian.AppendUint32(nil, crc32.Checksum(photo, crc32.MakeTable(crc32.Castagnoli)))
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4*devices, 2*devices
	return &loadClient{urls: urls, http: &http.Client{Transport: tr, Timeout: time.Minute},
		outbox: &outbox{paths: outboxes, offs: make([]int64, len(outboxes)), codes: map[string]string{}},
		photo:  photo, crc: base64.StdEncoding.EncodeToString(sum), stats: newLoadStats()}
}

// errBusy is the answer 503 busy: every argon2 slot was taken.
var errBusy = errors.New("503 busy")

// call POSTs (or GETs, for a nil body) one API call to the next replica
// and decodes its answer into out. An error answer is returned as
// "STATUS code".
func (c *loadClient) call(ip, bearer, path string, body, out any) error {
	url := c.urls[int(c.next.Add(1))%len(c.urls)] + path
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	if resp.StatusCode != 200 {
		var e wire.Error
		json.Unmarshal(data, &e)
		if resp.StatusCode == 503 && e.Code == "busy" {
			return errBusy
		}
		return fmt.Errorf("%d %s", resp.StatusCode, e.Code)
	}
	return json.Unmarshal(data, out)
}

// loadDevice is one simulated device and its account.
type loadDevice struct {
	n               int
	email, ip       string
	account         string
	access, refresh string
	issued, expiry  time.Time
	photos          int
	pending         string // the key of the photo stored last, to commit
}

const loadPassword = "load-pass-1234"

func newLoadDevice(n int) *loadDevice {
	return &loadDevice{n: n, email: fmt.Sprintf("device%d@load.example.com", n),
		ip: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)}
}

// busyRetry calls f until it answers anything but 503 busy, waiting the
// second the answer's Retry-After asks for, and counts the 503s.
func (c *loadClient) busyRetry(kind string, f func() error) error {
	for {
		err := f()
		if err != errBusy {
			return err
		}
		c.stats.fail(kind, err)
		time.Sleep(time.Second)
	}
}

// signup makes d's account through the API, as a person would: the
// address, the PIN from the outbox, then the password (one argon2 hash).
func (c *loadClient) signup(d *loadDevice) error {
	var s wire.SignupResponse
	if err := c.call(d.ip, "", wire.PathSignup, wire.SignupRequest{Email: d.email, Region: "DE", BirthDate: "1990-04-01"}, &s); err != nil {
		return fmt.Errorf("signup: %w", err)
	}
	pin, err := c.outbox.code(d.email)
	if err != nil {
		return err
	}
	var v wire.SignupVerifyResponse
	if err := c.call(d.ip, "", wire.PathSignupVerify, wire.SignupVerifyRequest{SignupID: s.SignupID, PIN: pin}, &v); err != nil {
		return fmt.Errorf("signup verify: %w", err)
	}
	var p wire.SignupPasswordResponse
	err = c.busyRetry("signup password", func() error {
		return c.call(d.ip, "", wire.PathSignupPassword, wire.SignupPasswordRequest{SignupID: s.SignupID, Password: loadPassword, Confirm: loadPassword}, &p)
	})
	if err != nil {
		return fmt.Errorf("signup password: %w", err)
	}
	d.account = p.AccountID
	return nil
}

// signin connects d: password (one argon2 hash), then the code from the
// outbox, for its first tokens.
func (c *loadClient) signin(d *loadDevice) error {
	var ch wire.Challenge
	err := c.busyRetry("signin", func() error {
		return c.call(d.ip, "", wire.PathSignin, wire.SigninRequest{Username: d.account, Password: loadPassword}, &ch)
	})
	if err != nil {
		return fmt.Errorf("signin: %w", err)
	}
	code, err := c.outbox.code(d.email)
	if err != nil {
		return err
	}
	var t wire.Tokens
	if err := c.call(d.ip, "", wire.PathSigninVerify, wire.SigninVerifyRequest{ChallengeID: ch.ID, Code: code,
		ClientID: "cloudkeep-agent", DeviceName: "phone"}, &t); err != nil {
		return fmt.Errorf("signin verify: %w", err)
	}
	d.setTokens(t)
	return nil
}

func (d *loadDevice) setTokens(t wire.Tokens) {
	d.access, d.refresh = t.AccessToken, t.RefreshToken
	d.issued = time.Now()
	d.expiry = d.issued.Add(time.Duration(t.ExpiresIn) * time.Second)
}

// run is the device's loop until end: refresh the tokens once half their
// life is gone, ask for the grant of the next photo's PUT together with
// the commit of the photo stored before (as the agent does), then PUT
// the photo's bytes with the grant.
func (c *loadClient) run(d *loadDevice, end time.Time) {
	for time.Now().Before(end) {
		if time.Since(d.issued) > d.expiry.Sub(d.issued)/2 && !c.refreshTokens(d) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		key := fmt.Sprintf("%s/phone/load/IMG_%06d.jpg", d.account, d.photos)
		ops := []wire.Op{{Op: wire.OpPut, Key: key, Size: int64(len(c.photo)), CRC32C: c.crc,
			Meta: &wire.Meta{SHA256: strings.Repeat("ab", 32), MTime: "2026-05-01T10:00:00Z", Device: "phone", ContentType: "image/jpeg"}}}
		if d.pending != "" {
			ops = append(ops, wire.Op{Op: wire.OpCommit, Key: d.pending})
		}
		put, ok := c.grant(d, ops)
		if !ok {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if c.noPhotos {
			d.photos++
			continue
		}
		if c.upload(put) {
			d.pending = key
			d.photos++
		}
	}
}

func (c *loadClient) refreshTokens(d *loadDevice) bool {
	var t wire.Tokens
	t0 := time.Now()
	err := c.call(d.ip, "", wire.PathToken, wire.TokenRequest{GrantType: wire.GrantRefresh, ClientID: "cloudkeep-agent", RefreshToken: d.refresh}, &t)
	c.stats.done("refresh", time.Since(t0), err)
	if err != nil {
		return false
	}
	d.setTokens(t)
	return true
}

// grant asks for ops and returns the put's presigned request; an error
// answer to the commit is counted as such.
func (c *loadClient) grant(d *loadDevice, ops []wire.Op) (wire.Result, bool) {
	var r wire.GrantResponse
	t0 := time.Now()
	err := c.call(d.ip, d.access, wire.PathStorageGrant, wire.GrantRequest{Ops: ops}, &r)
	if err == nil && len(r.Results) != len(ops) {
		err = fmt.Errorf("%d results for %d ops", len(r.Results), len(ops))
	}
	c.stats.done("grant", time.Since(t0), err)
	if err != nil {
		return wire.Result{}, false
	}
	if len(r.Results) > 1 && r.Results[1].Error != nil {
		c.stats.fail("commit", errors.New(r.Results[1].Error.Code))
	}
	if e := r.Results[0].Error; e != nil {
		c.stats.fail("put grant", errors.New(e.Code))
		return wire.Result{}, false
	}
	return r.Results[0], true
}

// upload sends the photo with the presigned request put.
func (c *loadClient) upload(put wire.Result) bool {
	req, _ := http.NewRequest(put.Method, put.URL, bytes.NewReader(c.photo))
	for k, v := range put.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(c.photo))
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			err = fmt.Errorf("%d", resp.StatusCode)
		}
	}
	c.stats.done("storage put", time.Since(t0), err)
	return err == nil
}

// outbox reads the codes the replicas write to their outbox.log files
// (--dev): the latest code for each address, taken once.
type outbox struct {
	paths []string
	mu    sync.Mutex
	offs  []int64
	codes map[string]string
}

var outboxLine = regexp.MustCompile(`to=(\S+) .* is (\d{6})\.`)

// code waits up to 30 s for a code sent to address.
func (o *outbox) code(address string) (string, error) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, ok := o.take(address); ok {
			return code, nil
		}
	}
	return "", fmt.Errorf("no code for %s in the outbox after 30 s", address)
}

func (o *outbox) take(address string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.codes[address]; !ok {
		o.read()
	}
	code, ok := o.codes[address]
	delete(o.codes, address)
	return code, ok
}

// read reads the lines written since the last read.
func (o *outbox) read() {
	for i, path := range o.paths {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		f.Seek(o.offs[i], io.SeekStart)
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if err != nil { // an incomplete last line is read again next time
				break
			}
			o.offs[i] += int64(len(line))
			if m := outboxLine.FindStringSubmatch(line); m != nil {
				o.codes[m[1]] = m[2]
			}
		}
		f.Close()
	}
}

// loadStats collects the latency of each kind of request and its errors,
// by kind and answer.
type loadStats struct {
	mu     sync.Mutex
	lat    map[string][]time.Duration
	errors map[string]int
}

func newLoadStats() *loadStats {
	return &loadStats{lat: map[string][]time.Duration{}, errors: map[string]int{}}
}

func (s *loadStats) done(kind string, took time.Duration, err error) {
	if err != nil {
		s.fail(kind, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[kind] = append(s.lat[kind], took)
}

func (s *loadStats) fail(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[kind+": "+err.Error()]++
}

// answered returns how many requests of kind were answered with success.
func (s *loadStats) answered(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lat[kind])
}

// percentiles returns the p50, p95 and p99 latency of kind.
func (s *loadStats) percentiles(kind string) (p50, p95, p99 time.Duration) {
	s.mu.Lock()
	lat := slices.Clone(s.lat[kind])
	s.mu.Unlock()
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)*99/100]
}

// errorText lists the errors by kind and answer, "" when there were none.
func (s *loadStats) errorText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, n := range s.errors {
		out = append(out, fmt.Sprintf("%s ×%d", k, n))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// errorCount returns how many requests failed.
func (s *loadStats) errorCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.errors {
		n += c
	}
	return n
}

// errorsOf returns how many requests of kind failed.
func (s *loadStats) errorsOf(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.errors {
		if strings.HasPrefix(k, kind+": ") {
			n += c
		}
	}
	return n
}
