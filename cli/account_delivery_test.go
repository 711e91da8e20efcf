package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// An empty delivery secret file is refused like every other secret
// problem: with the config's file and line, and the key.
func TestNewDelivery_EmptySecretNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ key, text string }{
		{"delivery.email.smtp.password_file", "delivery:\n  email:\n    smtp: {host: smtp.example.com, from: a@example.com, password_file: %s}\n"},
		{"delivery.sms.webhook.auth_header_file", "delivery:\n  sms:\n    webhook: {url: https://sms.example.com, auth_header_file: %s}\n"},
	} {
		secret := filepath.Join(dir, "empty")
		os.WriteFile(secret, nil, 0o600)
		path := filepath.Join(dir, "account.yaml")
		os.WriteFile(path, []byte(fmt.Sprintf("state_dir: %s\n"+tc.text, filepath.Join(dir, "state"), secret)), 0o600)
		cfg, err := config.LoadAccount(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newDelivery(&globals{}, cfg, false)
		want := path + ":4: " + tc.key + ": " + secret + " is empty"
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	}
}
