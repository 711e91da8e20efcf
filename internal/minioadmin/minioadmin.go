// Package minioadmin makes the MinIO admin API call the test harness
// needs: waiting until a new server's IAM answers. Requests are SigV4-signed with minio-go's signer (madmin-go is
// AGPL and is not used).
package minioadmin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// Client calls a MinIO server's admin API with root (or admin) keys.
type Client struct {
	Endpoint  string // http(s)://host:port
	AccessKey string
	SecretKey string
	HTTP      *http.Client
}

// Ready waits (up to 30 s) until the server's IAM subsystem answers: right
// after MinIO starts, admin and STS calls fail with "not initialized".
func (c *Client) Ready(ctx context.Context) error {
	_, status, err := c.call(ctx, http.MethodGet, "/minio/admin/v3/info-canned-policy", url.Values{"name": {"cloudkeep-readiness-probe"}, "v": {"2"}}, nil)
	if status == http.StatusNotFound {
		return nil // IAM answered: no such policy
	}
	return err
}

// call makes the call, waiting up to 30 s while the server says it is
// still initializing (right after it starts).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, status, err := c.once(ctx, method, path, query, body)
		if status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return out, status, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, int, error) {
	u := c.Endpoint + path + "?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req.ContentLength = int64(len(body))
	req = signer.SignV4(*req, c.AccessKey, c.SecretKey, "", "us-east-1")
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("minio admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode, fmt.Errorf("minio admin %s: %s: %s", path, resp.Status, bytes.TrimSpace(out))
	}
	return out, resp.StatusCode, nil
}
