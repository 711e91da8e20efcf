package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// writeAgentConfig writes a valid static-keys config for storage at endpoint.
func writeAgentConfig(t *testing.T, endpoint string) string {
	t.Helper()
	dir := t.TempDir()
	photos := filepath.Join(dir, "Pictures")
	if err := os.MkdirAll(photos, 0o700); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`device:
  name: laptop
storage:
  endpoint: %s
  bucket: photos
  user: alice
  credentials:
    access_key: key
    secret_key: secret-secret
watch:
  - path: %s
    name: pictures
state_dir: %s
control:
  socket: %s
`, endpoint, photos, filepath.Join(dir, "state"), filepath.Join(dir, "ctl.sock"))
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The exit codes are the README's: 2 for bad flags or a bad config file,
// 1 for a command that ran and failed, whatever the error.
func TestMain_ExitCodes(t *testing.T) {
	good := writeAgentConfig(t, closedAddr(t))
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("storage:\n  no_such_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"storage unreachable", []string{"backup", "--config", good}, exitFailed},
		{"bad config", []string{"backup", "--config", bad}, exitUsage},
		{"missing config", []string{"backup", "--config", filepath.Join(t.TempDir(), "none.yaml")}, exitUsage},
		{"unknown flag", []string{"backup", "--no-such-flag"}, exitUsage},
		{"unexpected argument", []string{"backup", "extra", "--config", good}, exitUsage},
		{"unknown command", []string{"no-such-command"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := mainWith(context.Background(), tt.args, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("cloudkeep %s: got exit %d, want %d; stderr:\n%s", strings.Join(tt.args, " "), got, tt.want, stderr.String())
			}
		})
	}
}
