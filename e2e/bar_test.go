package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// On a terminal, `backup` draws its bar while it walks: the total grows
// ("12/345+ files") as the walk finds files that are sent meanwhile, and
// ends whole. The binary runs under a pseudo-terminal (script(1)).
func TestBackup_BarWhileWalking(t *testing.T) {
	sameOnEveryServer(t, "what the agent shows")
	script, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no script(1) (util-linux) to give the backup a terminal")
		}
		t.Skip("no script(1) (util-linux) to give the backup a terminal")
	}
	w := newWorld(t)
	jpg := jpegHeader(t)
	const files = 1000
	for i := range files {
		w.file(fmt.Sprintf("%02d/IMG_%04d.jpg", i/100, i), jpg, 2000, uint64(i+1))
	}
	cmd := exec.Command(script, "-q", "-e", "-c", fmt.Sprintf("%q backup --config %q", w.bin, w.config), "/dev/null")
	cmd.Env = w.command().Env
	out, err := cmd.CombinedOutput()
	drawn := string(out)
	if err != nil {
		t.Fatalf("backup on a terminal: %v\n%s", err, drawn)
	}
	if !strings.Contains(drawn, fmt.Sprintf("backed up %d file(s)", files)) || !strings.Contains(drawn, fmt.Sprintf("%d/%d files", files, files)) {
		t.Errorf("drawn %q, want the whole total and the summary", tail(drawn, 2000))
	}
	doneWhileWalking := 0
	for _, m := range regexp.MustCompile(`(\d+)/\d+\+ files`).FindAllStringSubmatch(drawn, -1) {
		n, _ := strconv.Atoi(m[1])
		doneWhileWalking = max(doneWhileWalking, n)
	}
	if doneWhileWalking == 0 {
		t.Errorf("no file drawn done while the walk went on: %q", tail(drawn, 2000))
	}
	if n := len(w.sizes()); n != files {
		t.Errorf("bucket holds %d objects, want %d", n, files)
	}
	t.Logf("%d of %d files done while the walk went on", doneWhileWalking, files)
}
