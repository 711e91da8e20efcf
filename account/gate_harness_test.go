package account

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/versitygwtest"
)

// s3Server is a real S3 server the gate tests run against.
type s3Server struct {
	name                 string
	endpoint, bucket     string
	accessKey, secretKey string
	admin                *minio.Client // signed with the root keys
}

// forEachServer runs test against a fresh MinIO and a fresh versitygw.
func forEachServer(t *testing.T, test func(t *testing.T, s s3Server)) {
	t.Run("minio", func(t *testing.T) {
		m := miniotest.Start(t)
		test(t, s3Server{name: "minio", endpoint: m.Endpoint, bucket: m.Bucket, accessKey: m.AccessKey, secretKey: m.SecretKey, admin: m.Client})
	})
	t.Run("versitygw", func(t *testing.T) {
		v := versitygwtest.Start(t)
		test(t, s3Server{name: "versitygw", endpoint: v.Endpoint, bucket: v.Bucket, accessKey: v.AccessKey, secretKey: v.SecretKey, admin: v.Client})
	})
}

// gateEnv is a running account service with a storage gate on a real S3
// server and real SQLite.
type gateEnv struct {
	*env
	gate *Gate
	s3   s3Server
	api  string // the handler serving the gate
}

func newGateEnv(t testing.TB, s s3Server, ttl time.Duration, quota int64) *gateEnv {
	t.Helper()
	return gateOn(newEnv(t), s, ttl, quota)
}

// gateOn is newGateEnv on the service e.
func gateOn(e *env, s s3Server, ttl time.Duration, quota int64) *gateEnv {
	t := e.t
	t.Helper()
	log := zerolog.New(e.logs).Level(zerolog.DebugLevel)
	g, err := NewGate(GateConfig{Endpoint: s.endpoint, Bucket: s.bucket, Region: "us-east-1", AccessKey: s.accessKey,
		SecretKey: s.secretKey, GrantTTL: ttl, DefaultQuota: quota}, e.svc.store.(ObjectStore), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(e.svc, log, WithGate(g)))
	t.Cleanup(srv.Close)
	return &gateEnv{env: e, gate: g, s3: s, api: srv.URL}
}

// device is a connected device of an account.
type device struct {
	account, id, access, refresh string
}

// connectDevice makes an account with the given ID (when not empty) and
// connects a device to it.
func (ge *gateEnv) connectDevice(id, name string) device {
	ge.t.Helper()
	ctx := context.Background()
	if id == "" {
		id = "1" + randomDigits(9)
	}
	if err := ge.svc.store.CreateAccount(ctx, Account{ID: id, Email: id + "@example.com", Region: "DE",
		BirthDate: time.Date(1990, 4, 1, 0, 0, 0, 0, time.UTC), PasswordHash: "x", Created: time.Now()}); err != nil {
		ge.t.Fatal(err)
	}
	tok, err := ge.svc.Connect(ctx, id, "cloudkeep-agent", name)
	if err != nil {
		ge.t.Fatal(err)
	}
	return device{account: id, id: tok.DeviceID, access: tok.AccessToken, refresh: tok.RefreshToken}
}

// grant posts ops with the device's access token.
func (ge *gateEnv) grant(d device, ops ...wire.Op) (int, wire.GrantResponse, wire.Error) {
	ge.t.Helper()
	return grantCall(ge.t, ge.api, d.access, wire.GrantRequest{Ops: ops})
}

func grantCall(t testing.TB, api, token string, req wire.GrantRequest) (int, wire.GrantResponse, wire.Error) {
	body, _ := json.Marshal(req)
	r, _ := http.NewRequest("POST", api+wire.PathStorageGrant, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ok wire.GrantResponse
	var bad wire.Error
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &ok); err != nil {
			t.Fatalf("grant answer: %v: %s", err, b)
		}
		if len(ok.Results) != len(req.Ops) {
			t.Fatalf("grant: %d results for %d ops", len(ok.Results), len(req.Ops))
		}
	} else {
		json.Unmarshal(b, &bad)
	}
	return resp.StatusCode, ok, bad
}

// one grants a single op and returns its result, failing on a refused
// request.
func (ge *gateEnv) one(d device, op wire.Op) wire.Result {
	ge.t.Helper()
	code, res, bad := ge.grant(d, op)
	if code != 200 {
		ge.t.Fatalf("grant %s %s: %d %+v", op.Op, op.Key, code, bad)
	}
	return res.Results[0]
}

// send makes the presigned request of r with body and returns the status
// and the answer's body.
func send(t testing.TB, r wire.Result, body []byte, extra http.Header) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(r.Method, r.URL, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	for k := range extra {
		req.Header.Set(k, extra.Get(k))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error() // versitygw resets the connection on some refusals
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func crc32cOf(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(s[:])
}

func putOp(key string, body []byte) wire.Op {
	return wire.Op{Op: wire.OpPut, Key: key, Size: int64(len(body)), CRC32C: crc32cOf(body),
		Meta: &wire.Meta{SHA256: strings.Repeat("ab", 32), MTime: "2024-05-01T10:00:00.123456789Z", Device: "laptop", ContentType: "image/jpeg"}}
}

// putObject stores body at key through the gate: grant, PUT, commit.
func (ge *gateEnv) putObject(d device, key string, body []byte) wire.Object {
	ge.t.Helper()
	r := ge.one(d, putOp(key, body))
	if r.Error != nil {
		ge.t.Fatalf("grant put %s: %+v", key, r.Error)
	}
	if code, msg := send(ge.t, r, body, nil); code != 200 {
		ge.t.Fatalf("PUT %s: %d %s", key, code, msg)
	}
	c := ge.one(d, wire.Op{Op: wire.OpCommit, Key: key})
	if c.Error != nil || c.Object == nil {
		ge.t.Fatalf("commit %s: %+v", key, c.Error)
	}
	return *c.Object
}

// adminPut stores body at key with the root keys, around the gate.
func (ge *gateEnv) adminPut(key string, body []byte) {
	ge.t.Helper()
	if _, err := ge.s3.admin.PutObject(context.Background(), ge.s3.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		ge.t.Fatal(err)
	}
}

// adminPart sends part n of an upload with the root keys, around the gate.
func (ge *gateEnv) adminPart(key, uploadID string, n int, body []byte) {
	ge.t.Helper()
	core := minio.Core{Client: ge.s3.admin}
	opts := minio.PutObjectPartOptions{CustomHeader: http.Header{"X-Amz-Checksum-Crc32c": {crc32cOf(body)}}}
	if _, err := core.PutObjectPart(context.Background(), ge.s3.bucket, key, uploadID, n, bytes.NewReader(body), int64(len(body)), opts); err != nil {
		ge.t.Fatal(err)
	}
}

// adminGet reads key with the root keys.
func (ge *gateEnv) adminGet(key string) []byte {
	ge.t.Helper()
	obj, err := ge.s3.admin.GetObject(context.Background(), ge.s3.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		ge.t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		ge.t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// presignList signs a bucket listing of prefix with the gate's keys and
// lifetime, as a grant would sign any request.
func (ge *gateEnv) presignList(prefix string) wire.Result {
	ge.t.Helper()
	u, err := ge.gate.client.Presign(context.Background(), "GET", ge.s3.bucket, "", ge.gate.cfg.GrantTTL,
		url.Values{"list-type": {"2"}, "prefix": {prefix}})
	if err != nil {
		ge.t.Fatal(err)
	}
	return wire.Result{Method: "GET", URL: u.String()}
}

// webDisconnect disconnects a device with the account page's form, signed
// in as its owner.
func (ge *gateEnv) webDisconnect(d device) {
	ge.t.Helper()
	session, err := ge.svc.NewSession(context.Background(), d.account)
	if err != nil {
		ge.t.Fatal(err)
	}
	csrf := randomToken(24)
	form := url.Values{"csrf": {keyedHash(ge.svc.secret, "csrf", csrf)}, "device_id": {d.id}}
	req, _ := http.NewRequest("POST", ge.api+"/account/devices/disconnect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	req.AddCookie(&http.Cookie{Name: csrfCookie, Value: csrf})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ge.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "disconnected") {
		ge.t.Fatalf("disconnect form: %d %s", resp.StatusCode, b)
	}
}
