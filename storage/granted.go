package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/auth"
)

// Tokens hands out the device's access token. *auth.Session implements it.
type Tokens interface {
	// AccessToken returns a valid access token; auth.ErrSignedOut (wrapped)
	// when the device has no sign-in.
	AccessToken(ctx context.Context) (string, error)
	// Refused is told that the account service refused token, and returns
	// a new one; auth.ErrSignedOut (wrapped) when there is none.
	Refused(ctx context.Context, token string) (string, error)
}

// Granted is the bucket of an account (account mode): the account service
// grants each request. Bytes go straight to the storage with presigned
// URLs, which expire within a minute; the service makes control calls
// (complete, abort, list, stat, copy) itself. Concurrent requests share
// grant calls.
type Granted struct {
	url    string
	host   string // the account service's, to tell its calls from the storage's
	tokens Tokens
	http   *http.Client
	log    zerolog.Logger
	batch  batcher
	stats  statCache
	calls  atomic.Int64
	held   heldGrants
	usage  atomic.Pointer[wire.Usage] // the account's, as last told
}

// NewGranted returns the storage granted by the account service at
// accountURL to the holder of tokens. A request, to the service or to the
// storage, on which no byte moves for requestTimeout is abandoned (0:
// DefaultRequestTimeout).
func NewGranted(accountURL string, tokens Tokens, requestTimeout time.Duration, log zerolog.Logger) *Granted {
	if requestTimeout <= 0 {
		requestTimeout = DefaultRequestTimeout
	}
	t := WithRequestTimeout(http.DefaultTransport.(*http.Transport).Clone(), requestTimeout)
	t.MaxIdleConnsPerHost = 64
	t.WriteBufferSize, t.ReadBufferSize = 256<<10, 256<<10 // bodies of many MiB: fewer, larger writes
	g := &Granted{
		url:    strings.TrimSuffix(accountURL, "/"),
		tokens: tokens,
		http:   &http.Client{Transport: t},
		log:    log.With().Str("component", "storage").Logger(),
	}
	if u, err := url.Parse(g.url); err == nil {
		g.host = u.Host
	}
	g.batch.send = g.grant
	g.stats = statCache{list: g.List, now: time.Now}
	return g
}

// ReportTo makes g report to h how each request ended, as soon as it
// ends (see ReportingTo), naming the server that did not answer: the
// account service for a grant call, the storage for a granted request.
// Call it before g is used.
func (g *Granted) ReportTo(h *Health) {
	g.http.Transport = &reporting{rt: g.http.Transport, health: h, server: g.serverOf}
}

// serverOf names the server req goes to.
func (g *Granted) serverOf(req *http.Request) Server {
	if req.URL.Host == g.host {
		return Server{NameAccountService, g.url}
	}
	return Server{NameStorage, req.URL.Host}
}

// GrantCalls returns how many grant calls were made.
func (g *Granted) GrantCalls() int64 { return g.calls.Load() }

// Close sends the commits still waiting.
func (g *Granted) Close(ctx context.Context) error { return g.batch.flush(ctx) }

// Put asks for a presigned PUT, sends the body, and tells the service the
// object is stored (a commit, sent with the next grant call).
func (g *Granted) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error) {
	return g.put(ctx, wire.Op{Op: wire.OpPut, Key: key, Size: size, CRC32C: crc32c, Meta: wireMeta(meta)}, body, meta)
}

// PutNew is Put with a grant that signs If-None-Match: *.
func (g *Granted) PutNew(ctx context.Context, key string, body io.ReadSeeker, size int64, crc32c string, meta Meta) (Object, error) {
	return g.put(ctx, wire.Op{Op: wire.OpPut, Key: key, Size: size, CRC32C: crc32c, Meta: wireMeta(meta), IfAbsent: true}, body, meta)
}

func (g *Granted) put(ctx context.Context, op wire.Op, body io.ReadSeeker, meta Meta) (Object, error) {
	key, size, crc32c := op.Key, op.Size, op.CRC32C
	res, ok := g.held.take(op, time.Now())
	if !ok {
		var err error
		if res, err = g.one(ctx, op); err != nil {
			return Object{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	resp, err := g.execute(ctx, res, body, size, nil)
	var refused *S3Error
	if op.IfAbsent && errors.As(err, &refused) && refused.Status == http.StatusPreconditionFailed {
		g.stats.wrote(key) // a listing of before does not show it: Stat asks
		return Object{}, fmt.Errorf("put %s: %w: %w", key, ErrExists, refused)
	}
	if err != nil {
		return Object{}, fmt.Errorf("put %s: %w", key, err)
	}
	resp.Body.Close()
	g.stats.wrote(key)
	g.batch.later(wire.Op{Op: wire.OpCommit, Key: key})
	return Object{Key: key, Size: size, ETag: etagOf(resp), CRC32C: crc32c, FullObject: true, Meta: meta}, nil
}

// Create asks the service to begin a multipart upload; the size counts
// against the quota.
func (g *Granted) Create(ctx context.Context, key string, size int64, meta Meta) (string, error) {
	res, err := g.one(ctx, wire.Op{Op: wire.OpCreate, Key: key, Size: size, Meta: wireMeta(meta)})
	if err != nil {
		return "", fmt.Errorf("begin multipart %s: %w", key, err)
	}
	return res.UploadID, nil
}

// PutPart asks for a presigned part upload and sends the part.
func (g *Granted) PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (Part, error) {
	op := wire.Op{Op: wire.OpPart, Key: key, UploadID: uploadID, Part: number, Size: size, CRC32C: crc32c}
	res, err := g.one(ctx, op)
	if err == nil {
		var resp *http.Response
		if resp, err = g.execute(ctx, res, body, size, nil); err == nil {
			resp.Body.Close()
			return Part{Number: number, Size: size, ETag: etagOf(resp), CRC32C: crc32c}, nil
		}
	}
	return Part{}, fmt.Errorf("put part %d of %s: %w", number, key, err)
}

// ListParts asks the service for the parts it holds.
func (g *Granted) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	res, err := g.one(ctx, wire.Op{Op: wire.OpListParts, Key: key, UploadID: uploadID})
	if err != nil {
		return nil, fmt.Errorf("list parts of %s: %w", key, err)
	}
	out := make([]Part, len(res.Parts))
	for i, p := range res.Parts {
		out[i] = Part{Number: p.Number, Size: p.Size, ETag: p.ETag, CRC32C: p.CRC32C}
	}
	return out, nil
}

// Complete asks the service to join the parts; it checks the full-object
// CRC32C and counts the object.
func (g *Granted) Complete(ctx context.Context, key, uploadID string, parts []Part) (Object, error) {
	return g.complete(ctx, key, uploadID, parts, false)
}

// CompleteNew is Complete made by the service with If-None-Match: *.
func (g *Granted) CompleteNew(ctx context.Context, key, uploadID string, parts []Part) (Object, error) {
	return g.complete(ctx, key, uploadID, parts, true)
}

func (g *Granted) complete(ctx context.Context, key, uploadID string, parts []Part, ifAbsent bool) (Object, error) {
	full, err := FullCRC32C(parts)
	if err != nil {
		return Object{}, fmt.Errorf("complete multipart %s: %w", key, err)
	}
	op := wire.Op{Op: wire.OpComplete, Key: key, UploadID: uploadID, CRC32C: full, Parts: make([]wire.Part, len(parts)), IfAbsent: ifAbsent}
	for i, p := range parts {
		op.Parts[i] = wire.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, CRC32C: p.CRC32C}
	}
	res, err := g.one(ctx, op)
	g.stats.wrote(key)
	if err != nil {
		return Object{}, fmt.Errorf("complete multipart %s: %w", key, err)
	}
	o := objectFromWire(res.Object)
	if o.Key == "" {
		o = Object{Key: key, CRC32C: full, FullObject: true}
	}
	return o, nil
}

// Abort asks the service to cancel an upload; one already gone is not an
// error.
func (g *Granted) Abort(ctx context.Context, key, uploadID string) error {
	_, err := g.one(ctx, wire.Op{Op: wire.OpAbort, Key: key, UploadID: uploadID})
	if err != nil && !errors.Is(err, ErrNoSuchUpload) {
		return fmt.Errorf("abort multipart %s: %w", key, err)
	}
	return nil
}

// ListUploads asks the service for the incomplete uploads under prefix.
func (g *Granted) ListUploads(ctx context.Context, prefix string) ([]Upload, error) {
	res, err := g.one(ctx, wire.Op{Op: wire.OpListUploads, Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("list incomplete uploads: %w", err)
	}
	out := make([]Upload, len(res.Uploads))
	for i, u := range res.Uploads {
		out[i] = Upload{Key: u.Key, UploadID: u.UploadID, Started: u.Started}
	}
	return out, nil
}

// Stat answers from a recent listing of the key's folder when it can (one
// grant call for many files), and asks the service for the object's
// attributes otherwise.
func (g *Granted) Stat(ctx context.Context, key string) (Object, error) {
	if o, found, known := g.stats.lookup(ctx, key); known && found {
		return o, nil
	} else if known {
		return Object{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	res, err := g.one(ctx, wire.Op{Op: wire.OpStat, Key: key})
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if res.Object == nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	return objectFromWire(res.Object), nil
}

// Get asks for a presigned GET and reads from offset with a Range header.
func (g *Granted) Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	res, err := g.one(ctx, wire.Op{Op: wire.OpGet, Key: key})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	var extra http.Header
	if offset > 0 {
		extra = http.Header{"Range": {fmt.Sprintf("bytes=%d-", offset)}}
	}
	resp, err := g.execute(ctx, res, nil, 0, extra)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if offset > 0 && resp.StatusCode == http.StatusOK { // the server ignored the range
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
	}
	return resp.Body, nil
}

// List asks the service for the objects under prefix, page by page.
func (g *Granted) List(ctx context.Context, prefix string, fn func(Object) error) error {
	after := ""
	for {
		res, err := g.one(ctx, wire.Op{Op: wire.OpList, Prefix: prefix, After: after})
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for i := range res.Objects {
			if err := fn(objectFromWire(&res.Objects[i])); err != nil {
				return err
			}
			after = res.Objects[i].Key
		}
		if !res.Truncated || len(res.Objects) == 0 {
			return nil
		}
	}
}

// ListFolder lists the folder with List, up to limit objects.
func (g *Granted) ListFolder(ctx context.Context, prefix string, limit int) ([]Object, bool, error) {
	return listFolder(ctx, g.List, prefix, limit)
}

// Copy asks the service to copy src to dst.
func (g *Granted) Copy(ctx context.Context, dst, src, srcETag string, meta Meta) (Object, error) {
	op := wire.Op{Op: wire.OpCopy, Key: dst, Source: src, ETag: srcETag, Meta: wireMeta(meta)}
	res, err := g.one(ctx, op)
	g.stats.wrote(dst)
	if err != nil {
		return Object{}, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	o := objectFromWire(res.Object)
	o.Key, o.Meta = dst, meta
	return o, nil
}

// one asks for a single operation (in a shared grant call) and turns its
// error into this package's.
func (g *Granted) one(ctx context.Context, op wire.Op) (wire.Result, error) {
	res, err := g.batch.do(ctx, op)
	if err != nil {
		return wire.Result{}, err
	}
	if res.Error != nil {
		return wire.Result{}, opError(res.Error)
	}
	return res, nil
}

// grant makes one grant call for ops. A refused access token is renewed
// once.
func (g *Granted) grant(ctx context.Context, ops []wire.Op) ([]wire.Result, error) {
	body, err := json.Marshal(wire.GrantRequest{Ops: ops})
	if err != nil {
		return nil, err
	}
	token, err := g.tokens.AccessToken(ctx)
	if err != nil {
		return nil, err
	}
	for {
		status, b, err := g.post(ctx, token, body)
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK {
			g.held.heard(time.Now())
		}
		if status == http.StatusUnauthorized {
			if token, err = g.tokens.Refused(ctx, token); err != nil {
				g.held.drop() // signed out or disconnected: no grant of before is used
				return nil, err
			}
			continue
		}
		res, usage, err := decodeGrant(status, b, len(ops))
		if usage != nil {
			g.usage.Store(usage)
		}
		return res, err
	}
}

// Usage is the account's storage use as the account service last told it
// (after an upload), and whether it told any: it says so only for an
// account with a quota.
func (g *Granted) Usage() (used, quota int64, ok bool) {
	u := g.usage.Load()
	if u == nil {
		return 0, 0, false
	}
	return u.Used, u.Quota, true
}

func (g *Granted) post(ctx context.Context, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+wire.PathStorageGrant, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	g.calls.Add(1)
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("reach the account service: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read the grant: %w", err)
	}
	return resp.StatusCode, b, nil
}

// decodeGrant reads a grant answer: n results and the account's usage
// when told, or one error for all.
func decodeGrant(status int, b []byte, n int) ([]wire.Result, *wire.Usage, error) {
	if status != http.StatusOK {
		e := &wire.Error{}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e = &wire.Error{Code: wire.ErrCodeStorage, Message: fmt.Sprintf("account service answered %d", status)}
		}
		err := opError(e)
		if status >= 400 && status < 500 && !IsPermanent(err) && status != http.StatusTooManyRequests {
			err = &PermanentError{err}
		}
		return nil, nil, fmt.Errorf("storage grant: %w", err)
	}
	var resp wire.GrantResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, nil, fmt.Errorf("storage grant: %w", err)
	}
	if len(resp.Results) != n {
		return nil, nil, fmt.Errorf("storage grant: %d results for %d operations", len(resp.Results), n)
	}
	return resp.Results, resp.Usage, nil
}

// opError turns an error of the storage gate into this package's.
func opError(e *wire.Error) error {
	switch e.Code {
	case wire.ErrCodeQuotaExceeded:
		return &QuotaError{Used: e.Used, Quota: e.Quota}
	case wire.ErrCodeNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, e)
	case wire.ErrCodeNoSuchUpload:
		return fmt.Errorf("%w: %w", ErrNoSuchUpload, e)
	case wire.ErrCodeExists:
		return fmt.Errorf("%w: %w", ErrExists, e)
	case wire.ErrCodeInvalidToken:
		return fmt.Errorf("%w (%w)", auth.ErrSignedOut, e)
	case wire.ErrCodeAccessDenied, wire.ErrCodeInvalidOp:
		return &PermanentError{e}
	}
	return e
}

func wireMeta(m Meta) *wire.Meta {
	w := &wire.Meta{SHA256: m.SHA256, Device: m.Device, ContentType: m.ContentType,
		CaptureSource: m.CaptureSource, Group: m.Group, Motion: m.Motion}
	if !m.MTime.IsZero() {
		w.MTime = m.MTime.UTC().Format(time.RFC3339Nano)
	}
	if !m.Capture.IsZero() {
		w.CaptureTime = captureText(m.Capture)
	}
	return w
}

// captureText is t in RFC 3339, with the offset it was taken at when RFC
// 3339 can write that offset (whole minutes within ±14:00), else in UTC:
// the account service refuses what does not parse back.
func captureText(t time.Time) string {
	if _, off := t.Zone(); off%60 != 0 || off > 14*3600 || off < -14*3600 {
		t = t.UTC()
	}
	return t.Format(time.RFC3339Nano)
}

// metaFromWire is the inverse of wireMeta.
func metaFromWire(w wire.Meta) Meta {
	m := Meta{SHA256: w.SHA256, Device: w.Device, ContentType: w.ContentType,
		CaptureSource: w.CaptureSource, Group: w.Group, Motion: w.Motion}
	if t, err := time.Parse(time.RFC3339Nano, w.MTime); err == nil {
		m.MTime = t
	}
	if t, err := time.Parse(time.RFC3339Nano, w.CaptureTime); err == nil {
		m.Capture = t
	}
	return m
}

func objectFromWire(w *wire.Object) Object {
	if w == nil {
		return Object{}
	}
	o := Object{Key: w.Key, Size: w.Size, ETag: strings.Trim(w.ETag, `"`), LastModified: w.LastModified,
		CRC32C: w.CRC32C, FullObject: w.ChecksumType == "FULL_OBJECT"}
	o.Meta = metaFromWire(w.Meta)
	return o
}

func etagOf(resp *http.Response) string { return strings.Trim(resp.Header.Get("ETag"), `"`) }
