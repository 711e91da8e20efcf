package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/storage"
)

// connectCheck reaches what cfg names and prints one line per check: the
// server answers, the credentials are accepted, the bucket exists and
// takes a write, the clock agrees with the server's. It returns an error
// (exit 1) when a check failed.
type connectCheck struct {
	w      io.Writer
	cfg    *config.Agent
	create bool // create a missing bucket
	failed int
}

func (c *connectCheck) ok(what, format string, args ...any) {
	fmt.Fprintf(c.w, "%-12s %s\n", what+":", fmt.Sprintf(format, args...))
}

func (c *connectCheck) fail(what, format string, args ...any) {
	c.failed++
	fmt.Fprintf(c.w, "%-12s FAILED: %s\n", what+":", fmt.Sprintf(format, args...))
}

func (c *connectCheck) run(ctx context.Context) error {
	be, err := openBackend(c.cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer be.Close()
	if be.client != nil {
		c.static(ctx, be.client)
	} else {
		c.account(ctx, be)
	}
	if c.failed > 0 {
		return fmt.Errorf("%d check(s) failed", c.failed)
	}
	return nil
}

// static checks a storage reached with keys of its own.
func (c *connectCheck) static(ctx context.Context, client *minio.Client) {
	s := c.cfg.Storage
	u := *client.EndpointURL()
	u.Path = "/"
	date, err := serverDate(ctx, u.String())
	if err != nil {
		c.fail("storage", "%s does not answer: %s", s.Endpoint, storage.Short(err))
		return
	}
	c.ok("storage", "%s answers", s.Endpoint)
	c.clock("storage", date)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	exists, err := client.BucketExists(cctx, s.Bucket)
	if err != nil {
		c.fail("credentials", "%s", storage.Short(err))
		return
	}
	c.ok("credentials", "access key %s accepted", s.Credentials.AccessKey)
	if !exists && !c.create {
		c.fail("bucket", "%q does not exist at %s: %s", s.Bucket, s.Endpoint, createBucketHint(s.Bucket, client.EndpointURL()))
		return
	}
	if !exists {
		if err := client.MakeBucket(cctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
			c.fail("bucket", "create %s: %s", s.Bucket, storage.Short(err))
			return
		}
		c.ok("bucket", "%s created", s.Bucket)
	}
	key := keyTemplate(c.cfg, &bucket{}).Prefix() + ".cloudkeep-probe-" + randomHex()
	if _, err := client.PutObject(cctx, s.Bucket, key, strings.NewReader("probe"), 5, minio.PutObjectOptions{}); err != nil {
		c.fail("bucket", "%s exists but takes no write under %s: %s", s.Bucket, key, storage.Short(err))
		return
	}
	if err := client.RemoveObject(cctx, s.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		c.fail("bucket", "%s takes writes, but the probe %s could not be deleted: %s", s.Bucket, key, storage.Short(err))
		return
	}
	c.ok("bucket", "%s exists and is writable (a probe object was written and deleted)", s.Bucket)
}

// account checks the account service, the sign-in, and the storage
// reached through its grants.
func (c *connectCheck) account(ctx context.Context, be *backend) {
	service := c.cfg.Account.URL
	date, err := serverDate(ctx, service+"/healthz")
	if err != nil {
		c.fail("account", "%s does not answer: %s", service, storage.Short(err))
		return
	}
	c.ok("account", "%s answers", service)
	c.clock("account service", date)
	tok, err := be.session.AccessToken(ctx)
	if err != nil {
		c.fail("sign-in", "%v", err)
		return
	}
	me, err := (&auth.Client{URL: service, ClientID: c.cfg.Account.ClientID}).Me(ctx, tok)
	if err != nil {
		c.fail("sign-in", "%v", err)
		return
	}
	c.ok("sign-in", "account %s, device %s", me.AccountID, me.Device)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	key := keyTemplate(c.cfg, be.bucket).Prefix() + ".cloudkeep-probe-" + randomHex()
	if _, err := be.st.Stat(cctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.fail("storage", "not reached through the account service: %s", storage.Short(err))
		return
	}
	c.ok("storage", "reached through the account service's grants")
}

// clock says how far this machine's clock is from the server's Date.
func (c *connectCheck) clock(server string, date time.Time) {
	skew := time.Since(date).Round(time.Second)
	switch {
	case skew.Abs() <= time.Second:
		c.ok("clock", "within 1s of the %s's", server)
	case skew.Abs() < 5*time.Minute:
		c.ok("clock", "%s %s the %s's", skew.Abs(), aheadOrBehind(skew), server)
	default:
		c.fail("clock", "%s %s the %s's: signed requests fail beyond 15m; set the time (NTP)", skew.Abs(), aheadOrBehind(skew), server)
	}
}

// clockSkew is the error of a storage that refused a request because this
// machine's clock is too far from its own: by how much, and the fix.
func clockSkew(ctx context.Context, u *url.URL) error {
	const fix = "signed requests fail beyond 15m; set the time (NTP)"
	date, err := serverDate(ctx, u.String())
	if err != nil {
		return fmt.Errorf("the clock is too far from the storage's at %s: %s", u.Host, fix)
	}
	skew := time.Since(date).Round(time.Second)
	return fmt.Errorf("the clock is %s %s the storage's at %s: %s", skew.Abs(), aheadOrBehind(skew), u.Host, fix)
}

func aheadOrBehind(skew time.Duration) string {
	if skew > 0 {
		return "ahead of"
	}
	return "behind"
}

// serverDate makes a plain request to url and returns the Date the server
// answered with; any answer will do.
func serverDate(ctx context.Context, url string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("the answer has no Date header")
	}
	// Date has whole seconds: compare it with the middle of the request.
	return date.Add(time.Since(start) / 2), nil
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// createBucketHint says how to create bucket at the storage u.
func createBucketHint(bucket string, u *url.URL) string {
	return fmt.Sprintf("create it with `cloudkeep config check --connect --create-bucket`, "+
		"or `mc mb ALIAS/%s`, or `aws s3 mb s3://%s --endpoint-url %s://%s`", bucket, bucket, u.Scheme, u.Host)
}
