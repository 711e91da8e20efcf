package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kardianos/service"
)

// Stop under the service manager cancels the agent's context, as SIGTERM
// does, and returns once the agent has shut down.
func TestProgram_StopShutsDownTheAgent(t *testing.T) {
	stopped := make(chan struct{})
	p := &program{grace: time.Second, run: func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond) // finishing uploads in flight
		close(stopped)
		return nil
	}}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Stop returned before the agent finished")
	}
}

// service install --user writes a systemd user unit that runs
// `cloudkeep run --config <file>` and starts at login. (Enabling it needs a
// user service manager, which a test machine may lack.)
func TestService_InstallUserUnit(t *testing.T) {
	// Use kardianos's systemd backend even where systemd is not the running
	// init (a container), to see the unit it writes.
	prev := service.AvailableSystems()
	for _, sys := range prev {
		if sys.String() == "linux-systemd" {
			service.ChooseSystem(detected{sys})
			t.Cleanup(func() { service.ChooseSystem(prev...) })
		}
	}
	if service.ChosenSystem() == nil || service.ChosenSystem().String() != "linux-systemd" {
		t.Skip("no systemd backend on this platform")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := filepath.Join(home, "config.yaml")
	os.WriteFile(cfg, []byte("{}"), 0o600)
	var out bytes.Buffer
	code := mainWith(context.Background(), []string{"service", "install", "--user", "--config", cfg}, &out, &out)
	unit, err := os.ReadFile(filepath.Join(home, ".config/systemd/user/cloudkeep.service"))
	if err != nil {
		t.Fatalf("no unit written (exit %d): %v\n%s", code, err, out.String())
	}
	self, _ := os.Executable()
	for _, want := range []string{"ExecStart=" + self + ` "run" "--config" "` + cfg + `"`, "WantedBy=default.target", "Type=notify", "Restart=on-failure"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if code == 0 {
		mainWith(context.Background(), []string{"service", "uninstall", "--user", "--config", cfg}, &out, &out)
	}
}

// detected makes a service system count as the running one.
type detected struct{ service.System }

func (detected) Detect() bool { return true }
