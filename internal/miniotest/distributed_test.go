package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// A cluster of 4 nodes × 2 drives is one deployment: an object is spread
// over every drive of every node, the balancer spreads connections over
// the nodes and skips a dead one, writes and reads go on with a node
// killed, and once the node is back, writes reach its drives again.
func TestStartDistributed(t *testing.T) {
	start := time.Now()
	c := StartDistributed(t, 4, 2)
	t.Logf("4 nodes × 2 drives writable in %s", time.Since(start).Round(10*time.Millisecond))
	ctx := context.Background()
	put := func(key string) []byte {
		t.Helper()
		b := make([]byte, 3<<20)
		rand.Read(b)
		if _, err := c.Client.PutObject(ctx, c.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		return b
	}
	put("before")
	for i := range c.Nodes {
		if got, _ := c.Shards(i); got != 2 {
			t.Errorf("node %d holds %d shards of one object, want 2 (one per drive)", i, got)
		}
	}
	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	connect := func() { // a connection to each node in turn, twice
		t.Helper()
		for range 8 {
			resp, err := plain.Get("http://" + c.Endpoint() + "/minio/health/live")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	connect()
	for i, n := range c.Balancer.Conns() {
		if n == 0 {
			t.Errorf("no connection went to node %d: %v", i, c.Balancer.Conns())
		}
	}

	c.Kill(1)
	want := put("while-down")
	if got, _ := c.Shards(1); got != 2 {
		t.Errorf("node 1, down, holds %d shards, want the 2 of the first object", got)
	}
	before := c.Balancer.Conns()[1]
	connect()
	if got := c.Balancer.Conns()[1]; c.Balancer.Skipped() == 0 || got != before {
		t.Errorf("the balancer skipped %d connections and sent %d to the dead node, want some skipped and none sent", c.Balancer.Skipped(), got-before)
	}
	down := time.Now()
	c.Restart(t, 1)
	t.Logf("node 1 rejoined %s after its restart", time.Since(down).Round(10*time.Millisecond))
	obj, err := c.Client.GetObject(ctx, c.Bucket, "while-down", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(want))
	}
	// The other nodes may take a moment more to trust it again: within
	// seconds, a new object has a shard on each of its drives.
	var missing []string
	for try := 0; ; try++ {
		key := fmt.Sprintf("after-%d", try)
		put(key)
		missing = missing[:0]
		for _, d := range c.Nodes[1].Drives {
			if _, err := os.Stat(filepath.Join(d, c.Bucket, key, "xl.meta")); err != nil {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			if try > 0 {
				t.Logf("a new object reached node 1's drives at try %d", try+1)
			}
			break
		}
		if try == 50 {
			t.Fatalf("node 1, back, holds no shard of new objects on %v", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
