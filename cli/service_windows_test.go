package cli

import (
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// The Service Control Manager starts the command line kardianos/service
// registers for the service: x/sys/windows/svc/mgr.CreateService joins the
// executable and Config.Arguments with syscall.EscapeArg. Windows splits it
// back (CommandLineToArgvW) into exactly `cloudkeep.exe run --config PATH`,
// spaces included.
func TestWindowsService_CommandLine(t *testing.T) {
	bin := `C:\Program Files\cloudkeep\cloudkeep.exe`
	cfg := `C:\ProgramData\cloud keep\config.yaml`
	sc, err := serviceConfig(cfg, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	line := syscall.EscapeArg(sc.Executable)
	for _, a := range sc.Arguments {
		line += " " + syscall.EscapeArg(a)
	}
	got, err := windows.DecomposeCommandLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{bin, "run", "--config", cfg}
	if len(got) != len(want) {
		t.Fatalf("%s splits into %q, want %q", line, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("argument %d: got %q, want %q (command line %s)", i, got[i], want[i], line)
		}
	}
	if !installedPath("windows", bin, []string{`C:\Program Files\`}) {
		t.Errorf("%s is not taken for an installed binary", bin)
	}
}
