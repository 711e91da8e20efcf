package storage

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// S3Error is an error answer of the storage to a presigned request.
type S3Error struct {
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *S3Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("storage answered %d %s", e.Status, e.Code)
}

// execute sends a presigned request with exactly the granted headers (and
// extra ones the grant leaves to the device, such as Range), with body as
// the payload of size bytes. A 2xx answer is returned with its body open.
func (g *Granted) execute(ctx context.Context, r wire.Result, body io.ReadSeeker, size int64, extra http.Header) (*http.Response, error) {
	req, err := g.presigned(ctx, r, body, size, extra)
	if err != nil {
		return nil, err
	}
	resp, err := g.http.Do(req)
	if err != nil {
		err = redactURL(err)
		if ctx.Err() == nil && expiredBy(r.Expires, time.Now()) {
			// versitygw resets the connection of an expired URL.
			return nil, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, s3Error(resp, r.Expires)
}

func (g *Granted) presigned(ctx context.Context, r wire.Result, body io.ReadSeeker, size int64, extra http.Header) (*http.Request, error) {
	if r.URL == "" || r.Method == "" {
		return nil, errors.New("the grant holds no request")
	}
	var rd io.Reader
	if body != nil {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		rd = io.LimitReader(body, size)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, rd)
	if err != nil {
		return nil, fmt.Errorf("granted request: %w", err)
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range r.Headers {
		switch strings.ToLower(k) {
		case "host":
			req.Host = v
		case "content-length":
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n != size {
				return nil, fmt.Errorf("the grant is for %s bytes, not %d", v, size)
			}
		default:
			req.Header.Set(k, v)
		}
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	return req, nil
}

// expiredBy reports whether a URL expiring at exp has (nearly) expired at
// now.
func expiredBy(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Before(exp.Add(-2*time.Second))
}

// s3Error reads the storage's XML error and classifies it (classifyS3); a
// 403 once the URL has (nearly) run out is an expired grant.
func s3Error(resp *http.Response, expires time.Time) error {
	e := &S3Error{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = xml.Unmarshal(b, e)
	c := classifyS3(e.Status, e.Code, e.Message)
	if c == s3Permanent && e.Status == http.StatusForbidden && expiredBy(expires, time.Now()) {
		c = s3Expired
	}
	return c.wrap(e)
}
