package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account"
)

// `account-server quota ACCOUNT` without a size prints the account's
// quota and usage, as its help and the README say, and changes nothing.
func TestAccountQuota_WithoutSizePrintsUsage(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	secret := filepath.Join(dir, "storage.secret")
	os.WriteFile(secret, []byte("secret-secret\n"), 0o600)
	path := filepath.Join(dir, "account.yaml")
	text := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nstorage:\n  endpoint: %s\n  bucket: photos\n  access_key: key\n  secret_key_file: %s\nquota:\n  default: 50GiB\n",
		state, closedAddr(t), secret)
	os.WriteFile(path, []byte(text), 0o600)
	ctx := context.Background()
	store, err := account.OpenStore(ctx, "", state, "")
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateAccount(ctx, account.Account{ID: "1042", Region: "DE", BirthDate: time.Date(1990, 4, 1, 0, 0, 0, 0, time.UTC), Created: time.Now()})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := mainWith(ctx, []string{"account-server", "quota", "--config", path, "1042"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if want := "account 1042: quota 50 GiB; "; !bytes.HasPrefix(stdout.Bytes(), []byte(want)) {
		t.Errorf("stdout: got %q, want it to start with %q", stdout.String(), want)
	}
}
