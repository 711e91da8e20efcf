package miniotest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cloudkeep/cloudkeep/internal/minioadmin"
)

// Cluster is a distributed, erasure-coded MinIO on 127.0.0.1: several
// server processes, each with its own drives, started as one deployment
// (one pool, its erasure sets spread over every node) and reached
// through a Balancer, as users reach a multi-node deployment.
type Cluster struct {
	AccessKey string
	SecretKey string
	Bucket    string
	Nodes     []*Node
	Balancer  *Balancer     // spreads connections over the nodes that answer
	Client    *minio.Client // through the balancer, signed with the root credentials
	env       []string
}

// Node is one server process of a Cluster.
type Node struct {
	Endpoint string   // 127.0.0.1:port of this node alone
	Drives   []string // its drive directories
	args     []string
	cmd      *exec.Cmd
	log      *os.File
}

// StartDistributed starts nodes MinIO processes with drives directories
// each as one erasure-coded deployment, creates the bucket Bucket, waits
// until a write through each node reaches every drive, and stops every
// process when the test ends. Like Start, it fails under CI=true and
// skips elsewhere when there is no MinIO binary.
//
// Every process reads the same configuration file listing all the drives
// of all the nodes as one pool (on the command line, each argument with
// an ellipsis would be a pool of its own). MINIO_CI_CD lets MinIO use drives that are folders on
// the root disk (it refuses them otherwise: "drive is part of root drive,
// will not be used"); _MINIO_SERVER_LOCAL names the node's own address,
// which MinIO needs to tell its drives from the others' when it believes
// it runs in a container (/.dockerenv), where it otherwise waits for
// 127.0.0.1 to resolve to a non-loopback address.
func StartDistributed(t testing.TB, nodes, drives int) *Cluster {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	c := &Cluster{AccessKey: AccessKey, SecretKey: SecretKey, Bucket: Bucket}
	c.env = append(os.Environ(),
		"MINIO_ROOT_USER="+c.AccessKey,
		"MINIO_ROOT_PASSWORD="+c.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on",
	)
	config := filepath.Join(dir, "minio.yaml")
	for i := range nodes {
		n := &Node{Endpoint: "127.0.0.1:" + strconv.Itoa(FreePort(t))}
		for d := range drives {
			n.Drives = append(n.Drives, filepath.Join(dir, fmt.Sprintf("node%d", i+1), fmt.Sprintf("d%d", d+1)))
		}
		console := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		n.args = []string{bin, "server", "--quiet", "--config", config, "--address", n.Endpoint, "--console-address", console}
		var err error
		if n.log, err = os.Create(filepath.Join(dir, fmt.Sprintf("node%d.log", i+1))); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := os.WriteFile(config, c.configFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	for i := range c.Nodes {
		c.launch(t, i)
	}
	var upstreams []string
	for _, n := range c.Nodes {
		upstreams = append(upstreams, n.Endpoint)
	}
	c.Balancer = NewBalancer(t, upstreams)
	c.ready(t)
	return c
}

// configFile returns MinIO's configuration file: one pool of every drive
// of every node.
func (c *Cluster) configFile() []byte {
	var b bytes.Buffer
	b.WriteString("version: v1\npools:\n  -\n")
	for _, n := range c.Nodes {
		for _, d := range n.Drives {
			fmt.Fprintf(&b, "    - 'http://%s%s'\n", n.Endpoint, d)
		}
	}
	return b.Bytes()
}

// Endpoint returns the address (host:port) clients use: the balancer's.
func (c *Cluster) Endpoint() string { return c.Balancer.Addr }

// launch starts node i and waits until it is live.
func (c *Cluster) launch(t testing.TB, i int) {
	t.Helper()
	n := c.Nodes[i]
	n.cmd = exec.Command(n.args[0], n.args[1:]...)
	n.cmd.Env = append(c.env, "_MINIO_SERVER_LOCAL="+n.Endpoint)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start minio node %d: %v", i, err)
	}
	if err := waitStatus("http://"+n.Endpoint+"/minio/health/live", 30*time.Second); err != nil {
		c.fatal(t, i, fmt.Errorf("node %d did not start: %w", i, err))
	}
}

// ready waits until every node sees write quorum and answers, creates the
// bucket, and writes (then deletes) an object through every node that
// reaches every drive.
func (c *Cluster) ready(t testing.TB) {
	t.Helper()
	for i := range c.Nodes {
		c.nodeReady(t, i)
	}
	var err error
	c.Client, err = c.client(c.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Client.MakeBucket(ctx, c.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	if err := c.writeEverywhere(ctx, 60*time.Second); err != nil {
		c.fatal(t, 0, err)
	}
}

// nodeReady waits until node i answers that the deployment has write
// quorum, and its IAM answers.
func (c *Cluster) nodeReady(t testing.TB, i int) {
	t.Helper()
	n := c.Nodes[i]
	if err := waitStatus("http://"+n.Endpoint+"/minio/health/cluster", 60*time.Second); err != nil {
		c.fatal(t, i, fmt.Errorf("node %d sees no write quorum: %w", i, err))
	}
	admin := &minioadmin.Client{Endpoint: "http://" + n.Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey}
	if err := admin.Ready(context.Background()); err != nil {
		c.fatal(t, i, fmt.Errorf("node %d not ready: %w", i, err))
	}
}

func (c *Cluster) client(endpoint string) (*minio.Client, error) {
	return minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")})
}

// writeEverywhere writes an object through each running node until every
// drive of every running node holds a shard of it, then deletes it: right
// after a node starts, the others take a moment to meet it, and their
// writes skip its drives meanwhile.
func (c *Cluster) writeEverywhere(ctx context.Context, limit time.Duration) error {
	const probe = "cloudkeep-readiness-probe"
	deadline := time.Now().Add(limit)
	for _, n := range c.running() {
		client, err := c.client(n.Endpoint)
		if err != nil {
			return err
		}
		for {
			_, err := client.PutObject(ctx, c.Bucket, probe, strings.NewReader(probe), int64(len(probe)), minio.PutObjectOptions{})
			if err == nil && c.everyDriveHolds(probe) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("a write through %s did not reach every drive within %s (put: %v)", n.Endpoint, limit, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := client.RemoveObject(ctx, c.Bucket, probe, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("remove the probe through %s: %w", n.Endpoint, err)
		}
	}
	return nil
}

// running returns the nodes not killed.
func (c *Cluster) running() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.cmd != nil && n.cmd.ProcessState == nil {
			out = append(out, n)
		}
	}
	return out
}

// everyDriveHolds reports whether every drive of every running node holds
// a shard of the object key.
func (c *Cluster) everyDriveHolds(key string) bool {
	for _, n := range c.running() {
		for _, d := range n.Drives {
			if _, err := os.Stat(filepath.Join(d, c.Bucket, key, "xl.meta")); err != nil {
				return false
			}
		}
	}
	return true
}

// fatal ends the test with err and the end of node i's log.
func (c *Cluster) fatal(t testing.TB, i int, err error) {
	t.Helper()
	log, _ := os.ReadFile(c.Nodes[i].log.Name())
	t.Fatalf("minio: %v\nnode %d log (end):\n%s", err, i, log[max(0, len(log)-4000):])
}

// Kill stops node i with SIGKILL, as a crash or a power cut would; the
// others carry on and the balancer skips it.
func (c *Cluster) Kill(i int) {
	n := c.Nodes[i]
	n.cmd.Process.Kill()
	n.cmd.Wait()
}

// Restart starts node i again on the same address with the same drives,
// after Kill, and waits until it has rejoined: it answers, and a write
// through any node reaches its drives again. It does not wait for
// healing: the shards it missed are written when an object is read, or
// by MinIO's background scanner.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.launch(t, i)
	c.nodeReady(t, i)
	if err := c.writeEverywhere(context.Background(), 60*time.Second); err != nil {
		c.fatal(t, i, fmt.Errorf("node %d did not rejoin: %w", i, err))
	}
}

// Shards returns how many object shards (xl.meta files) node i holds in
// the bucket over all its drives, and the bytes of the bucket's files
// there: what healing fills in on a node that missed writes.
func (c *Cluster) Shards(i int) (shards int, size int64) {
	for _, d := range c.Nodes[i].Drives {
		filepath.WalkDir(filepath.Join(d, c.Bucket), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			if e.Name() == "xl.meta" {
				shards++
			}
			if fi, err := e.Info(); err == nil {
				size += fi.Size()
			}
			return nil
		})
	}
	return shards, size
}

// stop stops every node still running, all at once.
func (c *Cluster) stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() { Stop(n.cmd); n.log.Close() })
	}
	wg.Wait()
}

// waitStatus polls url until it answers 200 OK or limit passes.
func waitStatus(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not 200 OK after %s: %v", url, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
