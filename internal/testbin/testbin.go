// Package testbin builds the cloudkeep binary once per test process, for
// end-to-end tests that run it as a user would.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

var (
	once    sync.Once
	binPath string
	errText string
)

// Cloudkeep returns the path of a freshly built cloudkeep binary. The
// directory holding it is readable by every user, so a test may run it
// under another uid.
func Cloudkeep(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		root, err := miniotest.RepoRoot()
		if err != nil {
			errText = err.Error()
			return
		}
		dir, err := os.MkdirTemp("", "cloudkeep-bin-")
		if err != nil {
			errText = err.Error()
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "cloudkeep")
		args := []string{"build", "-o", binPath}
		if raceFlag != "" {
			args = append(args, raceFlag)
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			errText = string(out) + err.Error()
		}
	})
	if errText != "" {
		t.Fatalf("build cloudkeep: %s", errText)
	}
	return binPath
}
