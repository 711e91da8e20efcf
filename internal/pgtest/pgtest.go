// Package pgtest starts a real, throwaway PostgreSQL cluster on 127.0.0.1
// for tests: one per test process, shared by its tests, each of which gets
// a fresh database.
//
// The binaries (initdb, postgres) come from $CLOUDKEEP_PG_BIN, else
// Debian's postgresql package (/usr/lib/postgresql/VERSION/bin, installed
// by scripts/install-postgres.sh), else $PATH. When they are missing a
// test fails under CI=true and is skipped elsewhere. Run as root, the
// cluster runs as the postgres system user (or nobody): PostgreSQL refuses
// to run as root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// The superuser of every test cluster, and its password: the cluster
// asks for it (scram-sha-256), as a production one would.
const (
	User     = "cloudkeep"
	Password = "cloudkeep-test-pw-7Rk2"
)

// Cluster is the running test cluster.
type Cluster struct {
	Addr string // 127.0.0.1:port
	dir  string
	// guard is the write end of the pipe the cluster's supervisor reads:
	// when this process ends, however it ends, the pipe closes and the
	// supervisor stops the cluster and removes its directory.
	guard *os.File
}

var (
	shared    *Cluster
	sharedErr error
	once      sync.Once
	databases atomic.Int64
)

// BinDir returns the directory holding initdb and postgres.
func BinDir() (string, error) {
	if d := os.Getenv("CLOUDKEEP_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("CLOUDKEEP_PG_BIN: %w", err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[len(dirs)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL (initdb): run scripts/install-postgres.sh, or set CLOUDKEEP_PG_BIN to the directory of initdb and postgres")
}

// version is the major version in /usr/lib/postgresql/VERSION/bin/initdb.
func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// Require returns the directory of the binaries, or ends the test: a
// failure under CI=true, a skip elsewhere.
func Require(t testing.TB) string {
	t.Helper()
	return miniotest.RequireBinary(t, BinDir)
}

// Shared returns the process's cluster, starting it on first use.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	bin := Require(t)
	once.Do(func() { shared, sharedErr = start(bin) })
	if sharedErr != nil {
		t.Fatalf("start postgres: %v", sharedErr)
	}
	return shared
}

// DB creates a fresh, empty database in the shared cluster and returns
// its URL (password included); it is dropped when the test ends. Its text
// sorts by English rules (ICU's en-US), as on most production servers,
// not by bytes.
func DB(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), databases.Add(1))
	if err := c.exec(context.Background(), "CREATE DATABASE "+name+
		" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { c.exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	return c.URL(name, true)
}

// URL is the address of database name, with the password or without.
func (c *Cluster) URL(name string, withPassword bool) string {
	u := url.URL{Scheme: "postgres", User: url.User(User), Host: c.Addr, Path: "/" + name, RawQuery: "sslmode=disable"}
	if withPassword {
		u.User = url.UserPassword(User, Password)
	}
	return u.String()
}

// exec runs one statement on the cluster's postgres database.
func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres", true))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// start makes a cluster in a new temporary directory and starts it.
func start(bin string) (*Cluster, error) {
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cloudkeep-pgtest-")
	if err != nil {
		return nil, err
	}
	if err := initdb(bin, dir, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &Cluster{Addr: "127.0.0.1:" + strconv.Itoa(freePort()), dir: dir}
	if err := c.launch(bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// initdb makes the cluster in dir/data, owned by cred's user.
func initdb(bin, dir string, cred *credential) error {
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return err
	}
	if cred != nil {
		for _, p := range []string{dir, pw} {
			if err := os.Chown(p, cred.uid, cred.gid); err != nil {
				return err
			}
		}
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "--pgdata", filepath.Join(dir, "data"), "--username", User,
		"--pwfile", pw, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	runAsUser(cmd, cred, false)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return os.Remove(pw)
}

// supervise runs postgres until its standard input closes (this process
// ended), then stops it and removes the cluster's directory.
const supervise = `"$@" & pid=$!
trap 'kill -INT $pid; wait $pid; rm -rf "$PGTEST_DIR"; exit' TERM INT
read -r _
kill -INT $pid; wait $pid; rm -rf "$PGTEST_DIR"`

// launch starts postgres under its supervisor and waits until it answers.
func (c *Cluster) launch(bin string, cred *credential) error {
	_, port, _ := net.SplitHostPort(c.Addr)
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	logFile, err := os.Create(filepath.Join(c.dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("sh", "-c", supervise, "sh", filepath.Join(bin, "postgres"), "-D", filepath.Join(c.dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-p", port, "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Env = append(os.Environ(), "PGTEST_DIR="+c.dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, logFile, logFile
	runAsUser(cmd, cred, true)
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	c.guard = w
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if err := c.waitReady(30*time.Second, logFile.Name()); err != nil {
		w.Close() // the supervisor stops postgres and removes the directory
		<-done
		return err
	}
	return nil
}

// waitReady polls until the cluster accepts a connection.
func (c *Cluster) waitReady(limit time.Duration, logName string) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logName)
			return fmt.Errorf("not ready after %s: %v\n%s", limit, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
