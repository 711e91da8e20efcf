package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/packaging"
)

// serviceConfig describes the agent to the service manager.
func serviceConfig(configPath string, user bool) (*service.Config, error) {
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
		Arguments:   args,
		Option: service.KeyValue{
			"UserService":   user,
			"SystemdScript": packaging.SystemdSystem,
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
	sc, err := serviceConfig(g.configPath, false)
	if err != nil {
		return err
	}
	s, err := service.New(p, sc)
	if err != nil {
		return err
	}
	return s.Run()
}

func serviceCmd(g *globals) *cobra.Command {
	var user bool
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status",
		Short: "Install and control the agent as a system service (or, with --user, a per-user one)",
		Long: `Installs cloudkeep run as a service started at boot (systemd, launchd or the
Windows service manager), with --config baked into its command line. With
--user it is a per-user service started at login, for photos in a home folder.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "restart", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := serviceConfig(g.configPath, user)
			if err != nil {
				return err
			}
			s, err := service.New(&program{}, sc)
			if err != nil {
				return err
			}
			if args[0] == "status" {
				return g.serviceStatus(cmd.Context(), s)
			}
			if args[0] == "install" && g.configPath == "" {
				return usageError(errors.New("install needs --config: the service reads that file"))
			}
			if err := service.Control(s, args[0]); err != nil {
				return fmt.Errorf("service %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "cloudkeep service: %s done\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&user, "user", false, "a per-user service (systemd user unit, launchd agent)")
	return cmd
}

func (g *globals) serviceStatus(ctx context.Context, s service.Service) error {
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		fmt.Fprintln(g.stdout, "service: not installed")
		return nil
	case err != nil:
		return fmt.Errorf("service status: cannot ask the %s service manager (%w): is it running on this machine?", service.ChosenSystem(), err)
	}
	state := map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}[st]
	if state == "" {
		state = "unknown"
	}
	fmt.Fprintf(g.stdout, "service: installed, %s\n", state)
	if st != service.StatusRunning {
		return nil
	}
	path := g.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	if cfg, err := config.Load(path); err == nil {
		if as, err := agent.NewClient(cfg.Control.Socket).Status(ctx); err == nil {
			printStatus(g.stdout, as, time.Now())
		}
	}
	return nil
}
