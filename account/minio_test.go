package account

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// TestMinIO_STSRefusesServiceTokens: devices no longer trade access tokens
// for storage credentials; a token presented to MinIO's STS for a year of
// credentials gets nothing usable.
func TestMinIO_STSRefusesServiceTokens(t *testing.T) {
	e := newEnv(t)
	srv := miniotest.Start(t)
	alice := e.signup("alice@example.com", "goodpass1")
	tok := e.connect(alice, "goodpass1", "alice@example.com", "laptop")

	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"WebIdentityToken": {tok["access_token"].(string)},
		"DurationSeconds":  {"31536000"},
	}
	resp, err := http.PostForm("http://"+srv.Endpoint+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "<AccessKeyId>") ||
		strings.Contains(string(body), "<SecretAccessKey>") {
		t.Fatalf("MinIO's STS answered %d with credentials:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "<Error>") {
		t.Errorf("got %d %q, want an S3 error body", resp.StatusCode, body)
	}
}
