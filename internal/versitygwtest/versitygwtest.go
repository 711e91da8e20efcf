// Package versitygwtest starts a real versitygw S3 server (posix backend)
// on 127.0.0.1 for tests: the second S3 server cloudkeep is tested
// against, one without STS.
//
// The binary comes from $CLOUDKEEP_VERSITYGW_BIN, else the repository's
// .cache/bin/versitygw (installed by scripts/install-versitygw.sh), else
// $PATH. When it is missing a test fails under CI=true and is skipped
// elsewhere.
package versitygwtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// Root credentials of every test server.
const (
	AccessKey = "cloudkeep-test"
	SecretKey = "cloudkeep-test-secret-Vg7x"
	Bucket    = "photos"
)

// Server is a running versitygw.
type Server struct {
	Endpoint  string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string        // the posix root: one folder per bucket
	versions  string        // where versitygw keeps old versions
	Client    *minio.Client // signed with the root credentials
	cmd       *exec.Cmd
	bin       string
	log       *os.File
}

// Binary returns the path of the versitygw binary.
func Binary() (string, error) {
	return miniotest.FindBinary("versitygw", "CLOUDKEEP_VERSITYGW_BIN", "scripts/install-versitygw.sh")
}

// Require returns the versitygw binary, or ends the test: a failure under
// CI=true, a skip elsewhere.
func Require(t testing.TB) string {
	t.Helper()
	return miniotest.RequireBinary(t, Binary)
}

// Start starts versitygw on an empty directory with a bucket named Bucket,
// and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Require(t)
	s := &Server{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(miniotest.FreePort(t)),
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Bucket:    Bucket,
		Dir:       t.TempDir(),
		versions:  t.TempDir(),
	}
	s.bin = bin
	var err error
	if s.log, err = os.Create(filepath.Join(t.TempDir(), "versitygw.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(); s.log.Close() })
	s.Client, err = minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	s.launch(t)
	if err := miniotest.MakeBucket(s.Endpoint, s.AccessKey, s.SecretKey, "us-east-1", s.Bucket); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

// launch starts the server process and waits until it answers.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	// A versioning directory lets a test turn versioning on for a bucket.
	s.cmd = exec.Command(s.bin, "--port", s.Endpoint, "posix", "--versioning-dir", s.versions, s.Dir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		log, _ := os.ReadFile(s.log.Name())
		t.Fatalf("versitygw did not start: %v\n%s", err, log)
	}
}

// Kill stops the server with SIGKILL, as a crash or a power cut would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Restart starts the server again on the same address with the same data,
// after Kill.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.launch(t)
}

// waitReady polls until the server answers a signed ListBuckets.
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.Client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s: %w", s.Endpoint, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() { miniotest.Stop(s.cmd) }
