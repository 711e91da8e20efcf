package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// `make demo` ends with MinIO stopped: the commands its last lines suggest
// all work without it.
func TestDemo_SuggestsOnlyWhatWorksWithoutMinIO(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	if onVersitygw() {
		t.Skip("make demo runs MinIO itself")
	}
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	miniotest.RequireBinary(t, func() (string, error) {
		return miniotest.FindBinary("minio", "-", "scripts/install-minio.sh (demo.sh runs .cache/bin/minio)")
	})
	demo := filepath.Join(t.TempDir(), "demo")
	bin := testbin.Cloudkeep(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CLOUDKEEP_DEMO_DIR="+demo, "CLOUDKEEP_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	want := "\nDone. MinIO is stopped now; its data stays in " + demo + "/minio until 'make clean'.\n" +
		"These work without it:\n" +
		"  ./cloudkeep status --config " + demo + "/config.yaml         (what the journal says is backed up)\n" +
		"  ./cloudkeep config check --config " + demo + "/config.yaml   (the effective configuration)\n" +
		"Run 'make demo' again for a fresh MinIO and another backup.\n"
	if !strings.HasSuffix(string(out), want) {
		t.Fatalf("demo.sh ended with:\n%s\nwant:\n%s", tail(string(out), 8), want)
	}
	for line := range strings.Lines(want) {
		args, ok := strings.CutPrefix(line, "  ./cloudkeep ")
		if !ok {
			continue
		}
		args, _, _ = strings.Cut(args, "  (")
		res, err := exec.Command(bin, strings.Fields(args)...).CombinedOutput()
		if err != nil {
			t.Errorf("cloudkeep %s, as suggested, with MinIO stopped: %v\n%s", args, err, res)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "")
}
