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

	"github.com/cloudkeep/cloudkeep/config"
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

// validConfig is a config file that loads.
const validConfig = `storage:
  endpoint: 127.0.0.1:9000
  bucket: photos
  user: alice
  credentials:
    access_key: AKIAEXAMPLE
    secret_key: s3cr3t-value
watch:
  - path: /srv/photos
`

// userHome makes a home directory with the user's config file in it, as
// `cloudkeep setup` leaves it, and an executable to install.
func userHome(t *testing.T) (home, cfg, bin string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv(config.EnvConfig, "")
	cfg = filepath.Join(home, ".config", "cloudkeep", "config.yaml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte(validConfig), 0o600)
	bin = filepath.Join(home, ".local", "bin", "cloudkeep")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	return home, cfg, bin
}

// useSystem makes kardianos/service use the named system, as if it were
// the running init.
func useSystem(t *testing.T, name string) {
	t.Helper()
	prev := service.AvailableSystems()
	for _, sys := range prev {
		if sys.String() == name {
			service.ChooseSystem(detected{sys})
			t.Cleanup(func() { service.ChooseSystem(prev...) })
			return
		}
	}
	t.Skipf("no %s backend on this platform", name)
}

// asUser makes the service command see euid as the caller's.
func asUser(t *testing.T, euid int) {
	old := serviceEUID
	serviceEUID = func() int { return euid }
	t.Cleanup(func() { serviceEUID = old })
}

// detected makes a service system count as the running one.
type detected struct{ service.System }

func (detected) Detect() bool { return true }

// service install --user without --config writes a systemd user unit that
// runs the given binary with the config file every other command
// finds (~/.config/cloudkeep/config.yaml), and starts at login. (Enabling
// it needs a user service manager, which a test machine may lack.)
func TestService_InstallUserUnit(t *testing.T) {
	useSystem(t, systemSystemd)
	asUser(t, 1000)
	home, cfg, bin := userHome(t)
	var out bytes.Buffer
	code := mainWith(context.Background(), []string{"service", "install", "--user", "--binary", bin}, &out, &out)
	unit, err := os.ReadFile(filepath.Join(home, ".config/systemd/user/cloudkeep.service"))
	if err != nil {
		t.Fatalf("no unit written (exit %d): %v\n%s", code, err, out.String())
	}
	for _, want := range []string{"ExecStart=" + bin + ` "run" "--config" "` + cfg + `"`, "WantedBy=default.target", "Type=notify", "Restart=on-failure"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

// The test binary lies in a temporary directory: install refuses to make a
// service of it, and says what to do.
func TestService_InstallRefusesBinaryOutsideSystemPaths(t *testing.T) {
	useSystem(t, systemSysV)
	_, cfg, _ := userHome(t)
	var out bytes.Buffer
	code := mainWith(context.Background(), []string{"service", "install", "--config", cfg}, &out, &out)
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	want := "cloudkeep: the service would run " + self + ", which is not installed in a system path (/usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin, /opt/): " +
		"copy it there first (for example `sudo install -m 0755 " + self + " /usr/local/bin/cloudkeep`, then run /usr/local/bin/cloudkeep service install), " +
		"or name the binary the service should run with --binary PATH\n"
	if code != exitUsage || out.String() != want {
		t.Errorf("got exit %d, %q\nwant exit %d, %q", code, out.String(), exitUsage, want)
	}
}

// Without any config file, install refuses, naming the file it looked for.
func TestService_InstallRefusesWithoutConfig(t *testing.T) {
	useSystem(t, systemSystemd)
	asUser(t, 1000)
	home, _, bin := userHome(t)
	missing := filepath.Join(home, "nowhere.yaml")
	t.Setenv(config.EnvConfig, missing)
	var out bytes.Buffer
	code := mainWith(context.Background(), []string{"service", "install", "--user", "--binary", bin}, &out, &out)
	want := "cloudkeep: no config file at " + missing + ": write one with `cloudkeep setup` or `cloudkeep config init`, or name it with --config\n"
	if code != exitUsage || out.String() != want {
		t.Errorf("got exit %d, %q\nwant exit %d, %q", code, out.String(), exitUsage, want)
	}
}

// --user where systemd is not the init: say what to do instead.
func TestService_UserWithoutSystemd(t *testing.T) {
	useSystem(t, systemSysV)
	userHome(t)
	for _, action := range []string{"install", "start", "status"} {
		var out bytes.Buffer
		code := mainWith(context.Background(), []string{"service", action, "--user"}, &out, &out)
		want := "cloudkeep: per-user services need systemd, which is not running on this machine: " +
			"start `cloudkeep run` from your desktop session's autostart instead, " +
			"or install the system service (`sudo cloudkeep service install`)\n"
		if code != exitUsage || out.String() != want {
			t.Errorf("%s: got exit %d, %q\nwant exit %d, %q", action, code, out.String(), exitUsage, want)
		}
	}
}

func TestInstalledPath(t *testing.T) {
	linux := systemBinDirs("linux", false)
	darwin := []string{"/usr/local/bin", "/opt/homebrew/bin", "/opt/", "/Applications/"}
	windows := []string{`C:\Program Files\`, `C:\Program Files (x86)\`}
	for _, tc := range []struct {
		goos, bin string
		dirs      []string
		want      bool
	}{
		{"linux", "/usr/bin/cloudkeep", linux, true},
		{"linux", "/usr/local/bin/cloudkeep", linux, true},
		{"linux", "/opt/cloudkeep/bin/cloudkeep", linux, true},
		{"linux", "/home/me/src/cloudkeep/cloudkeep", linux, false},
		{"linux", "/usr/local/bin/sub/cloudkeep", linux, false},
		{"linux", "/usr/binx/cloudkeep", linux, false},
		{"linux", "/tmp/go-build1/cli.test", linux, false},
		{"darwin", "/opt/homebrew/bin/cloudkeep", darwin, true},
		{"darwin", "/Applications/cloudkeep.app/Contents/MacOS/cloudkeep", darwin, true},
		{"darwin", "/Users/me/Downloads/cloudkeep", darwin, false},
		{"windows", `C:\Program Files\cloudkeep\cloudkeep.exe`, windows, true},
		{"windows", `c:\program files (x86)\cloudkeep\cloudkeep.exe`, windows, true},
		{"windows", `C:\Users\me\Downloads\cloudkeep.exe`, windows, false},
	} {
		if got := installedPath(tc.goos, tc.bin, tc.dirs); got != tc.want {
			t.Errorf("%s %s: got %v, want %v", tc.goos, tc.bin, got, tc.want)
		}
	}
}

// A per-user service may run a binary from the user's own bin directory.
func TestSystemBinDirs_User(t *testing.T) {
	_, _, bin := userHome(t)
	if !installedPath("linux", bin, systemBinDirs("linux", true)) {
		t.Errorf("%s refused for a user service", bin)
	}
	if installedPath("linux", bin, systemBinDirs("linux", false)) {
		t.Errorf("%s accepted for the system service", bin)
	}
}

// Uninstall on System V removes the runlevel links kardianos/service makes
// (S50 in rc2-5, K02 in rc0, 1 and 6), and nothing else.
func TestRemoveRcLinks(t *testing.T) {
	etc := t.TempDir()
	for _, l := range []string{"rc0.d/K02cloudkeep", "rc1.d/K02cloudkeep", "rc2.d/S50cloudkeep", "rc3.d/S50cloudkeep",
		"rc4.d/S50cloudkeep", "rc5.d/S50cloudkeep", "rc6.d/K02cloudkeep", "rc2.d/S01other"} {
		os.MkdirAll(filepath.Join(etc, filepath.Dir(l)), 0o755)
		os.Symlink("/etc/init.d/x", filepath.Join(etc, l))
	}
	if err := removeRcLinks(etc, "cloudkeep"); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(etc, "rc?.d", "*"))
	if len(left) != 1 || filepath.Base(left[0]) != "S01other" {
		t.Errorf("left: %v, want only rc2.d/S01other", left)
	}
}

// A fatal exit leaves its error in state_dir/last-error; a clean exit
// removes it; start only takes an error written since it began.
func TestRecordExit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	begun := time.Now()
	recordExit(dir, os.ErrPermission)
	if got, ok := lastError(dir, begun); !ok || got != "permission denied" {
		t.Errorf("after a failure: got %q, %v; want %q", got, ok, "permission denied")
	}
	if _, ok := lastError(dir, begun.Add(time.Hour)); ok {
		t.Error("an error older than the start was taken for this start's")
	}
	recordExit(dir, context.Canceled)
	if got, ok := lastError(dir, time.Time{}); ok {
		t.Errorf("after a clean stop: got %q, want none", got)
	}
}
