// Package miniotest starts a real MinIO server on 127.0.0.1 for tests.
//
// The binary comes from $CLOUDKEEP_MINIO_BIN, else the repository's
// .cache/bin/minio (installed by scripts/install-minio.sh), else $PATH.
// When it is missing a test fails under CI=true and is skipped elsewhere.
package miniotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cloudkeep/cloudkeep/internal/minioadmin"
)

// Root credentials of every test server.
const (
	AccessKey = "cloudkeep-test"
	SecretKey = "cloudkeep-test-secret-3Hq9"
	Bucket    = "photos"
)

// Server is a running MinIO.
type Server struct {
	Endpoint  string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string        // the data directory
	Client    *minio.Client // signed with the root credentials
	// Process, when set, is what Kill and Restart act on: another S3
	// server (versitygw) given the shape of a MinIO one.
	Process interface {
		Kill()
		Restart(testing.TB)
	}
	cmd       *exec.Cmd
	args, env []string
	log       *os.File
}

// Options change how Start runs the server.
type Options struct {
	Env []string // extra environment, e.g. MINIO_IDENTITY_OPENID_CONFIG_URL=…
}

// Binary returns the path of the MinIO server binary.
func Binary() (string, error) {
	return FindBinary("minio", "CLOUDKEEP_MINIO_BIN", "scripts/install-minio.sh (or `make test`)")
}

// FindBinary returns the path of the server binary name: from $envVar,
// else the repository's .cache/bin/name, else $PATH; the error says to run
// install when there is none.
func FindBinary(name, envVar, install string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		return p, nil
	}
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, ".cache", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("no %s binary: run %s, or set %s", name, install, envVar)
	}
	return p, nil
}

// RepoRoot returns the directory holding this module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			len(b) > 0 && containsModule(string(b)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the cloudkeep module")
		}
		dir = parent
	}
}

func containsModule(gomod string) bool {
	const want = "module github.com/cloudkeep/cloudkeep\n"
	return len(gomod) >= len(want) && gomod[:len(want)] == want
}

// Require returns the MinIO binary, or ends the test: a failure under
// CI=true, a skip elsewhere.
func Require(t testing.TB) string {
	t.Helper()
	return RequireBinary(t, Binary)
}

// RequireBinary returns what find finds, or ends the test: a failure under
// CI=true, a skip elsewhere.
func RequireBinary(t testing.TB, find func() (string, error)) string {
	t.Helper()
	bin, err := find()
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

// Start starts a MinIO server with an empty data directory and a bucket
// named Bucket, and stops it when the test ends.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	bin := Require(t)
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Server{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(FreePort(t)),
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Bucket:    Bucket,
		Dir:       t.TempDir(),
	}
	console := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	s.args = []string{bin, "server", "--quiet", "--address", s.Endpoint, "--console-address", console, s.Dir}
	s.env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	s.env = append(s.env, o.Env...)
	var err error
	if s.log, err = os.Create(filepath.Join(t.TempDir(), "minio.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(); s.log.Close() })
	s.launch(t)
	// Live is not ready: IAM (policies, OpenID) initializes after it.
	admin := &minioadmin.Client{Endpoint: "http://" + s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
	if err := admin.Ready(context.Background()); err != nil {
		t.Fatalf("minio not ready: %v", err)
	}
	s.Client, err = minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := MakeBucket(s.Endpoint, s.AccessKey, s.SecretKey, "", s.Bucket); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

// MakeBucket creates bucket with one request, never retried: on a loaded
// machine a retry of a request whose answer was late could create the
// bucket again after a test removed it. A request that fails is followed
// by a look: a bucket that is there is made.
func MakeBucket(endpoint, accessKey, secretKey, region, bucket string) error {
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Region: region, MaxRetries: 1})
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
	if err == nil {
		return nil
	}
	for range 50 {
		if ok, lookErr := client.BucketExists(ctx, bucket); lookErr == nil {
			if ok {
				return nil
			}
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// launch starts the server process and waits until it is live.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start minio: %v", err)
	}
	if err := s.waitLive(30 * time.Second); err != nil {
		log, _ := os.ReadFile(s.log.Name())
		t.Fatalf("minio did not start: %v\n%s", err, log)
	}
}

// Kill stops the server with SIGKILL, as a crash or a power cut would.
func (s *Server) Kill() {
	if s.Process != nil {
		s.Process.Kill()
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Restart starts the server again on the same address with the same data,
// after Kill.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.Process != nil {
		s.Process.Restart(t)
		return
	}
	s.launch(t)
	admin := &minioadmin.Client{Endpoint: "http://" + s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
	if err := admin.Ready(context.Background()); err != nil {
		t.Fatalf("minio not ready after restart: %v", err)
	}
}

func (s *Server) waitLive(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	url := "http://" + s.Endpoint + "/minio/health/live"
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not live after %s: %v", url, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() { Stop(s.cmd) }

// Stop ends a server process started by cmd: SIGTERM, then SIGKILL after
// 10 s. A process not started or already waited for is left alone.
func Stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
