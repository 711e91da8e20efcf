// Package e2e runs the cloudkeep binary as a user would, against a real
// S3 server on 127.0.0.1: MinIO, or versitygw with CLOUDKEEP_E2E_S3=versitygw.
package e2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
	"github.com/cloudkeep/cloudkeep/internal/versitygwtest"
)

const MiB = 1 << 20

// world is one user's machine: a folder of photos, a config, a state dir,
// and a MinIO reached through a counting proxy.
type world struct {
	t       *testing.T
	bin     string
	srv     *miniotest.Server
	proxy   *miniotest.Proxy
	dir     string // readable by every user
	photos  string
	state   string
	config  string
	env     []string
	top     string   // more top-level config keys
	asUser  *userIDs // run the binary as this user when set
	account string   // the account service, in account mode
}

type userIDs struct{ uid, gid uint32 }

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, startS3(t), "")
}

// onVersitygw reports whether the suite runs against versitygw
// (CLOUDKEEP_E2E_S3=versitygw) instead of MinIO (unset, or "minio").
func onVersitygw() bool {
	switch s := os.Getenv("CLOUDKEEP_E2E_S3"); s {
	case "", "minio":
		return false
	case "versitygw":
		return true
	default:
		panic(fmt.Sprintf("CLOUDKEEP_E2E_S3=%q: want minio or versitygw", s))
	}
}

// sameOnEveryServer skips a test on the second S3 server (versitygw):
// what it checks is the device's, the agent's or the account service's own
// behaviour, which the storage does not change, and it already ran on
// MinIO. The tests of the storage's side (uploads, resumes, listings,
// restores, manifests, checksums, the gate's grants) run on both.
func sameOnEveryServer(t *testing.T, what string) {
	t.Helper()
	if onVersitygw() {
		t.Skip(what + ", the same on every S3 server: run on MinIO")
	}
}

// startS3 starts the S3 server the suite runs against, with an empty
// bucket, for this test.
func startS3(t *testing.T) *miniotest.Server {
	t.Helper()
	if onVersitygw() {
		return startVersitygw(t)
	}
	return miniotest.Start(t)
}

// startVersitygw starts versitygw, in the shape of a MinIO server.
func startVersitygw(t *testing.T) *miniotest.Server {
	t.Helper()
	v := versitygwtest.Start(t)
	return &miniotest.Server{Endpoint: v.Endpoint, AccessKey: v.AccessKey, SecretKey: v.SecretKey, Bucket: v.Bucket, Dir: v.Dir, Client: v.Client, Process: v}
}

// newWorldOn makes a device using srv; with accountURL set it signs in to
// that account service (credentials mode account) instead of static keys.
func newWorldOn(t *testing.T, srv *miniotest.Server, accountURL string) *world {
	t.Helper()
	dir, err := os.MkdirTemp("", "cloudkeep-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	w := &world{
		t:       t,
		bin:     testbin.Cloudkeep(t),
		srv:     srv,
		proxy:   miniotest.NewProxy(t, srv.Endpoint),
		dir:     dir,
		photos:  filepath.Join(dir, "Pictures"),
		state:   filepath.Join(dir, "state"),
		config:  filepath.Join(dir, "config.yaml"),
		account: accountURL,
	}
	for _, d := range []string{w.photos, w.state} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777)
	}
	w.writeConfig("")
	return w
}

// writeConfig writes a config for this world; storageExtra is added under
// storage:, w.top at the end.
func (w *world) writeConfig(storageExtra string) {
	creds := fmt.Sprintf("  user: alice\n  credentials:\n    access_key: %s\n    secret_key: %s\n", w.srv.AccessKey, w.srv.SecretKey)
	if w.account != "" {
		creds = "  credentials:\n    mode: account\n"
	}
	text := fmt.Sprintf(`device:
  name: laptop
account:
  url: %s
storage:
  endpoint: %s
  bucket: %s
%s  part_size: 5MiB
  multipart_threshold: 5MiB
%swatch:
  - path: %s
    name: pictures
state_dir: %s
%s`, cmp.Or(w.account, "http://127.0.0.1:1"), w.proxy.Addr, w.srv.Bucket, creds, storageExtra, w.photos, w.state, w.top)
	// The config holds the secret key: only its reader may read it, as
	// `config check` asks of people.
	if err := os.WriteFile(w.config, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// result is a finished run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

func (w *world) command(args ...string) *exec.Cmd {
	if !slices.Contains(args, "--config") {
		args = append(args, "--config", w.config)
	}
	cmd := exec.Command(w.bin, args...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1") // a race in the binary fails the test
	cmd.Env = append(cmd.Env, w.env...)
	if w.asUser != nil {
		setCredential(cmd, w.asUser)
		os.Chown(w.config, int(w.asUser.uid), int(w.asUser.gid))
	}
	return cmd
}

func (w *world) run(args ...string) result {
	w.t.Helper()
	cmd := w.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		w.t.Fatalf("run %v: %v", args, err)
	}
	return res
}

// file writes size seeded pseudo-random bytes after header at rel and
// returns the content's hex SHA-256.
func (w *world) file(rel string, header []byte, size int64, seed uint64) string {
	w.t.Helper()
	path := filepath.Join(w.photos, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		w.t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	body := io.MultiReader(bytes.NewReader(header), rand.NewChaCha8(s))
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, size)); err != nil {
		w.t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	return hex.EncodeToString(h.Sum(nil))
}

// objects returns every key in the bucket with its metadata sha256, but
// the photos' thumbnails (.thumbs/, see thumbs_test.go) and the devices'
// manifests (.cloudkeep/, see manifest_test.go).
func (w *world) objects() map[string]string {
	w.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for o := range w.srv.Client.ListObjects(ctx, w.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		if strings.Contains("/"+o.Key, "/.thumbs/") || strings.Contains("/"+o.Key, "/.cloudkeep/") {
			continue
		}
		info, err := w.srv.Client.StatObject(ctx, w.srv.Bucket, o.Key, minio.StatObjectOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		out[o.Key] = info.UserMetadata["Sha256"]
	}
	return out
}

// contentSHA256 reads an object back and hashes its bytes.
func (w *world) contentSHA256(key string) string {
	w.t.Helper()
	obj, err := w.srv.Client.GetObject(context.Background(), w.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer obj.Close()
	return hashReader(w.t, obj)
}

func hashReader(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("read: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (w *world) assertNoIncomplete() {
	w.t.Helper()
	for up := range w.srv.Client.ListIncompleteUploads(context.Background(), w.srv.Bucket, "", true) {
		if up.Err != nil {
			w.t.Fatal(up.Err)
		}
		w.t.Errorf("incomplete upload left: %s (%s)", up.Key, up.UploadID)
	}
}

// journalCount runs a count query on the journal, read-only.
func (w *world) journalCount(query string) int {
	w.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.state, "journal.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		return -1 // not created yet
	}
	return n
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
