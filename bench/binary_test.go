package bench

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// benchBinary runs `cloudkeep backup` on a data set as a user would and
// reports its peak resident memory.
func benchBinary(b *testing.B, set string) {
	d := data(b, set)
	srv := miniotest.Start(b)
	bin := testbin.Cloudkeep(b)
	root := filepath.Dir(d.files[0])
	b.SetBytes(d.bytes)
	var peak int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		empty(b, srv)
		config := writeConfig(b, srv, root, b.TempDir(), "log: {level: warn}\n")
		b.StartTimer()
		cmd := exec.Command(bin, "backup", "--config", config)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("backup: %v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss*1024)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
}

func BenchmarkBackupBinary1GiB(b *testing.B)     { benchBinary(b, "1GiB") }
func BenchmarkBackupBinary500x2MiB(b *testing.B) { benchBinary(b, "500x2MiB") }
