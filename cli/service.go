package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/packaging"
)

// Names of the kardianos/service systems cloudkeep treats specially.
const (
	systemSystemd = "linux-systemd"
	systemSysV    = "unix-systemv"
)

// serviceConfig describes the agent to the service manager: it runs binary
// (this executable when empty) with `run --config configPath`.
func serviceConfig(configPath, binary string, user bool) (*service.Config, error) {
	args := []string{"run"}
	if configPath != "" {
		abs, err := filepath.Abs(configPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", abs)
	}
	c := &service.Config{
		Name:        "cloudkeep",
		DisplayName: "cloudkeep",
		Description: packaging.Description,
		Executable:  binary,
		Arguments:   args,
		Option: service.KeyValue{
			"UserService":   user,
			"SystemdScript": packaging.SystemdSystem,
			"SysvScript":    packaging.SysvScript,
			"LaunchdConfig": packaging.LaunchdPlist,
			"Restart":       "on-failure",
		},
	}
	if user {
		c.Option["SystemdScript"] = packaging.SystemdUser
	}
	return c, nil
}

// program runs the agent for a service manager: Start must not block, Stop
// asks the agent to shut down (as SIGTERM does) and waits for it.
type program struct {
	run    func(ctx context.Context) error
	grace  time.Duration
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func() { p.done <- p.run(ctx) }()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case err := <-p.done:
		return err
	case <-time.After(p.grace + 5*time.Second):
		return errors.New("the agent did not stop in time")
	}
}

// runAgent runs the agent: under the service manager's control when it
// started us, in the foreground otherwise.
func (g *globals) runAgent(ctx context.Context, cfg *config.Agent, a *agent.Agent) error {
	a.OnReady = func() { daemon.SdNotify(false, daemon.SdNotifyReady) }
	a.OnStopping = func() { daemon.SdNotify(false, daemon.SdNotifyStopping) }
	if service.Interactive() {
		return a.Run(ctx)
	}
	p := &program{run: a.Run, grace: time.Duration(cfg.ShutdownGrace)}
	sc, err := serviceConfig(g.configPath, "", false)
	if err != nil {
		return err
	}
	s, err := service.New(p, sc)
	if err != nil {
		return err
	}
	return s.Run()
}

// serviceFlags are the service command's own flags.
type serviceFlags struct {
	user   bool
	binary string
}

func serviceCmd(g *globals) *cobra.Command {
	var f serviceFlags
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status",
		Short: "Install and control the agent as a system service (or, with --user, a per-user one)",
		Long: `Installs cloudkeep run as a service started at boot (systemd, System V init,
launchd or the Windows service manager) that reads the config file found as
for every other command (--config, $CLOUDKEEP_CONFIG, the user's config,
/etc/cloudkeep/config.yaml). With --user it is a per-user service started at
login (systemd user unit, launchd agent), for photos in a home folder.

On Linux the system service runs as the cloudkeep user (never as root):
install refuses until that user exists and can run the binary, read the
config and its secret files and write the state directory, and says what to
run. Where the cloudkeep package's unit is installed, install and uninstall
refuse: that unit is managed with systemctl.

install refuses a binary outside the system paths (a build checkout): copy
it to /usr/local/bin first, or name the one to run with --binary. The other
actions read the config the service was installed with unless --config is
given. start waits until the agent answers on its control socket, or prints
why it stopped; status says running, starting, stopped, failed (exit 1, with
the reason) or not installed.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "restart", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.service(cmd.Context(), args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.user, "user", false, "a per-user service (systemd user unit, launchd agent)")
	cmd.Flags().StringVar(&f.binary, "binary", "", "install: the cloudkeep binary the service runs (default: this one, if it is in a system path)")
	return cmd
}

// serviceUser is the account the Linux system service runs as, and
// systemStateDir the state directory systemd makes for it.
const (
	serviceUser    = "cloudkeep"
	systemStateDir = "/var/lib/cloudkeep"
	// makeUserCommand creates serviceUser as the package does.
	makeUserCommand = "useradd --system --user-group --home-dir " + systemStateDir + " --shell /usr/sbin/nologin " + serviceUser
)

// service runs one service action.
func (g *globals) service(ctx context.Context, action string, f serviceFlags) error {
	if err := userServiceSupported(f.user); err != nil {
		return err
	}
	if err := serviceAsRoot(action, f.user); err != nil {
		return err
	}
	platform := service.ChosenSystem().String()
	installed := installedCommand(platform, f.user)
	path := g.configPath
	if path == "" && action != "install" {
		path = commandConfig(installed)
	}
	if path == "" {
		path = config.DefaultPath()
	}
	binary := ""
	if action == "install" {
		b, err := serviceBinary(f.binary, f.user)
		if err != nil {
			return usageError(err)
		}
		binary = b
	}
	sc, err := serviceConfig(path, binary, f.user)
	if err != nil {
		return err
	}
	s, err := service.New(&program{}, sc)
	if err != nil {
		return err
	}
	if action != "install" && action != "status" {
		if ok, err := serviceInstalled(s); err == nil && !ok {
			return g.serviceMissing(action)
		}
	}
	switch action {
	case "install":
		return g.serviceInstall(s, sc, path, installed, f.user)
	case "uninstall":
		return g.serviceUninstall(s, f.user)
	case "start", "restart":
		return g.serviceStart(ctx, s, action, path, f.user)
	case "stop":
		return g.serviceStop(s)
	case "status":
		return g.serviceStatus(ctx, s, path, f.user)
	}
	return usageError(fmt.Errorf("unknown service action %q: install, uninstall, start, stop, restart or status", action))
}

// serviceMissing answers an action on a service that is not installed:
// uninstall and stop have nothing to do, start and restart cannot.
func (g *globals) serviceMissing(action string) error {
	switch action {
	case "uninstall", "stop":
		fmt.Fprintf(g.stdout, "cloudkeep service: not installed, nothing to %s\n", action)
		return nil
	case "start", "restart":
		return usageError(fmt.Errorf("service %s: not installed: install it first with `cloudkeep service install`", action))
	}
	return nil
}

// serviceEUID is the effective user id that decides what service may be
// managed (a variable for tests).
var serviceEUID = os.Geteuid

// serviceAsRoot refuses, on Linux, a system service action by a user who
// may not change it, and a per-user service for root.
func serviceAsRoot(action string, user bool) error {
	if runtime.GOOS != "linux" || action == "status" {
		return nil
	}
	root := serviceEUID() == 0
	switch {
	case user && root:
		return usageError(errors.New("--user is a service of the user who runs the command, and root has no user session: " +
			"run it as that user, or drop --user for the system service"))
	case !user && !root:
		return usageError(fmt.Errorf("the system service needs root: run `sudo cloudkeep service %s`, or add --user for a per-user service", action))
	}
	return nil
}

// userServiceSupported refuses --user where no user service manager runs.
func userServiceSupported(user bool) error {
	if !user || runtime.GOOS != "linux" || service.ChosenSystem().String() == systemSystemd {
		return nil
	}
	return usageError(errors.New("per-user services need systemd, which is not running on this machine: " +
		"start `cloudkeep run` from your desktop session's autostart instead, " +
		"or install the system service (`sudo cloudkeep service install`)"))
}

// serviceInstall checks the config the service will read, as the user the
// service runs as, installs the service and says what it runs. Installed
// already with the same command, it says so; with another, it refuses.
func (g *globals) serviceInstall(s service.Service, sc *service.Config, path string, installed []string, user bool) error {
	if _, err := os.Stat(path); err != nil {
		return usageError(fmt.Errorf("no config file at %s: write one with `cloudkeep setup` or `cloudkeep config init`, or name it with --config", path))
	}
	cfg, err := config.Load(path)
	if err != nil {
		return usageError(err)
	}
	for _, a := range sc.Arguments {
		if strings.ContainsAny(a, "\n\r") {
			return usageError(fmt.Errorf("the path %q holds a line break, which a service definition cannot carry: rename it", a))
		}
	}
	if s.Platform() == systemSystemd && !user && packageUnit("/") != "" {
		return usageError(errors.New("service install: the cloudkeep package's unit is installed: use `systemctl enable --now cloudkeep`"))
	}
	command := append([]string{sc.Executable}, sc.Arguments...)
	if ok, _ := serviceInstalled(s); ok || installed != nil {
		if slices.Equal(installed, command) {
			fmt.Fprintf(g.stdout, "cloudkeep service: already installed for %s; it runs %s\n", s.Platform(), strings.Join(command, " "))
			return nil
		}
		return usageError(fmt.Errorf("service install: already installed (%s): run `cloudkeep service uninstall` first to install it with other settings",
			cmp.Or(strings.Join(installed, " "), s.Platform())))
	}
	if err := g.checkSystemService(s.Platform(), sc.Executable, path, cfg.StateDir, user); err != nil {
		return usageError(fmt.Errorf("service install: %w", err))
	}
	if err := service.Control(s, "install"); err != nil {
		return fmt.Errorf("service install: %w", err)
	}
	fmt.Fprintf(g.stdout, "cloudkeep service: installed for %s; it runs %s\n", s.Platform(), strings.Join(command, " "))
	fmt.Fprintf(g.stdout, "cloudkeep service: it reads %s; start it with `cloudkeep service start`\n", sc.Arguments[len(sc.Arguments)-1])
	return nil
}

// checkSystemService refuses a Linux system service that cannot run: the
// service's user cannot run the binary, read the config or write the state.
func (g *globals) checkSystemService(platform, binary, path, stateDir string, user bool) error {
	if user || runtime.GOOS != "linux" || (platform != systemSystemd && platform != systemSysV) {
		return nil
	}
	return checkRunAs(binary, path, stateDir, platform == systemSystemd)
}

// serviceUninstall stops the service, then removes it (and, on System V,
// its /etc/rc?.d links, which kardianos/service leaves). It never touches
// the package's unit.
func (g *globals) serviceUninstall(s service.Service, user bool) error {
	if s.Platform() == systemSystemd && !user {
		if pkg := packageUnit("/"); pkg != "" {
			return g.uninstallOverPackage(pkg)
		}
	}
	if st, err := s.Status(); err == nil && st == service.StatusRunning {
		if err := s.Stop(); err != nil {
			return fmt.Errorf("service uninstall: stop it first: %w", err)
		}
	}
	if err := service.Control(s, "uninstall"); err != nil {
		return fmt.Errorf("service uninstall: %w", err)
	}
	if s.Platform() == systemSysV {
		if err := removeRcLinks("/etc", "cloudkeep"); err != nil {
			return fmt.Errorf("service uninstall: %w", err)
		}
	}
	fmt.Fprintln(g.stdout, "cloudkeep service: uninstalled")
	return nil
}

// uninstallOverPackage removes a unit `service install` wrote over the
// package's (without disabling: the enable link is the package's too),
// and refuses to remove anything else.
func (g *globals) uninstallOverPackage(pkg string) error {
	ours := serviceFile(systemSystemd, false)
	data, err := os.ReadFile(ours)
	if err != nil || !strings.HasPrefix(string(data), serviceMarker) {
		return usageError(fmt.Errorf("service uninstall: the cloudkeep package's unit is installed (%s), not one of `cloudkeep service install`'s: "+
			"use `systemctl disable --now cloudkeep`, or remove the package", pkg))
	}
	if err := os.Remove(ours); err != nil {
		return fmt.Errorf("service uninstall: %w", err)
	}
	if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
		return fmt.Errorf("service uninstall: systemctl daemon-reload: %v: %s", err, out)
	}
	fmt.Fprintf(g.stdout, "cloudkeep service: removed %s; the package's unit %s is in charge again (`systemctl restart cloudkeep` runs it)\n", ours, pkg)
	return nil
}

// removeRcLinks removes the System V runlevel links to /etc/init.d/name.
func removeRcLinks(etc, name string) error {
	links, err := filepath.Glob(filepath.Join(etc, "rc[0-6S].d", "[SK][0-9][0-9]"+name))
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := os.Remove(l); err != nil {
			return err
		}
	}
	return nil
}

func (g *globals) serviceStop(s service.Service) error {
	if err := service.Control(s, "stop"); err != nil {
		return fmt.Errorf("service stop: %w", err)
	}
	fmt.Fprintln(g.stdout, "cloudkeep service: stopped")
	return nil
}
