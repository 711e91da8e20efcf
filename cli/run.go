package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/storage"
)

func runCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the backup agent: watch the folders and upload new photos and videos",
		Long: `Runs until stopped (SIGINT or SIGTERM): catches up with what changed while
it was stopped, then watches every folder under watch: and uploads each new
or changed photo and video once it is complete. Uploads in flight at a stop
get shutdown_grace to finish; the rest resume on the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			defer func() { recordExit(cfg.StateDir, err) }()
			a, cleanup, err := g.newAgent(cmd, cfg)
			if err != nil {
				return err
			}
			defer cleanup()
			return g.runAgent(cmd.Context(), cfg, a)
		},
	}
}

// startupCheck is how long the agent waits for the storage to answer its
// bucket check before it starts without.
const startupCheck = 3 * time.Second

// newAgent builds the agent from the config.
func (g *globals) newAgent(cmd *cobra.Command, cfg *config.Agent) (*agent.Agent, func(), error) {
	ctx := cmd.Context()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	be, err := openBackend(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	// At boot the network may not be up yet: the agent starts anyway, and
	// uploads wait for the storage.
	var unreachable *storage.UnreachableError
	var problem string
	switch err := be.awaitBucket(ctx, startupCheck); {
	case errors.Is(err, errNoBucket):
		be.Close()
		return nil, nil, err
	case errors.As(err, &unreachable):
		log.Warn().Str("error", unreachable.LastError).Msg("storage not reachable yet; uploads wait for it")
	case errors.Is(err, errCredentials):
		problem = err.Error()
		log.Error().Str("endpoint", cfg.Storage.Endpoint).Msg(problem)
	case err != nil:
		log.Error().Str("error", storage.Short(err)).Msg("check the storage")
	}
	if err := be.openUploads(ctx); err != nil {
		be.Close()
		if agent.StateDirFull(cfg.StateDir, err) {
			return nil, nil, fmt.Errorf("state_dir %s is full: free space, then start cloudkeep again (%w)", cfg.StateDir, err)
		}
		return nil, nil, err
	}
	a := &agent.Agent{
		Roots:          roots(cfg),
		Filter:         filter(cfg),
		Keys:           keyTemplate(cfg, be.bucket),
		Journal:        be.journal,
		Uploader:       be.uploader,
		Device:         cfg.Device.Name,
		Files:          cfg.Storage.Concurrency.Files,
		Threshold:      int64(cfg.Storage.MultipartThreshold),
		Since:          cfg.Media.Since.Time(),
		Settle:         time.Duration(cfg.Settle),
		SettleLease:    cfg.SettleLease,
		RescanInterval: time.Duration(cfg.RescanInterval),
		PollInterval:   time.Duration(cfg.PollInterval),
		ShutdownGrace:  time.Duration(cfg.ShutdownGrace),
		Socket:         cfg.Control.Socket,
		MetricsListen:  cfg.Metrics.Listen,
		Log:            log,
	}
	be.onRetry = a.OnRetry
	a.Storage, a.StorageProblem = be.health, problem
	a.StateDir = cfg.StateDir
	if cfg.Media.Thumbnails {
		a.Thumbs = be.st
	}
	if be.session != nil {
		a.SignedIn = be.session.SignedIn
		a.Account = be.session.AccountID
	}
	a.VerifyInterval, a.VerifyStore = time.Duration(cfg.VerifyInterval), be.st
	for _, configure := range []func(*agent.Agent, *config.Agent, *backend) error{configureRules, configureAlerts, configureManifest} {
		if err := configure(a, cfg, be); err != nil {
			be.Close()
			return nil, nil, err
		}
	}
	return a, be.Close, nil
}
