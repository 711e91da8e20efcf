package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// TestAccountMode_ListingsBounded: a grant request of 1000 listings of an
// account holding 2500 objects is refused with a 400 naming the limit, not
// answered with a thousand pages; `cloudkeep ls` still lists all 2500,
// page by page.
func TestAccountMode_ListingsBounded(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("ida@example.com", "ida-pass-42")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, id, "ida-pass-42", "ida@example.com")
	const n = 2500
	var grp errgroup.Group
	grp.SetLimit(8)
	for i := range n {
		grp.Go(func() error {
			_, err := s.srv.Client.PutObject(context.Background(), s.srv.Bucket, fmt.Sprintf("%s/laptop/pictures/IMG_%05d.jpg", id, i),
				bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
			return err
		})
	}
	if err := grp.Wait(); err != nil {
		t.Fatal(err)
	}

	b, err := os.ReadFile(filepath.Join(w.state, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(b, &creds)
	ops := make([]wire.Op, 1000)
	for i := range ops {
		ops[i] = wire.Op{Op: wire.OpList, Prefix: id + "/"}
	}
	body, _ := json.Marshal(wire.GrantRequest{Ops: ops})
	req, _ := http.NewRequest("POST", s.url+wire.PathStorageGrant, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+creds.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"error":"invalid_op","message":"bad grant request: 1000 listings (list, list_parts, list_uploads), want at most 4 per request"}`
	if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(string(answer)) != want {
		t.Errorf("1000 listings in a %d-byte request: %d, %d bytes: %.200s; want 400 %s", len(body), resp.StatusCode, len(answer), answer, want)
	}

	ls := w.run("ls")
	lines := strings.Split(strings.TrimSuffix(ls.stdout, "\n"), "\n")
	if ls.code != 0 || len(lines) != n || lines[0] != "laptop/pictures/IMG_00000.jpg" || lines[n-1] != fmt.Sprintf("laptop/pictures/IMG_%05d.jpg", n-1) {
		t.Errorf("ls: exit %d, %d lines (%q … %q), want %d (%s)", ls.code, len(lines), lines[0], lines[len(lines)-1], n, ls.stderr)
	}
}
