package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

// newGate builds the storage gate from the config, or returns nil when the
// config sets no storage.
func newGate(cfg *config.AccountServer, store account.ObjectStore, log zerolog.Logger) (*account.Gate, error) {
	s := cfg.Storage
	if !s.Configured() {
		return nil, nil
	}
	secret, err := cfg.StorageSecretKey()
	if err != nil {
		return nil, usageError(err)
	}
	return account.NewGate(account.GateConfig{Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, Secure: s.Secure,
		AccessKey: s.AccessKey, SecretKey: secret, GrantTTL: time.Duration(s.GrantTTL), DefaultQuota: int64(cfg.Quota.Default)},
		store, log)
}

// openGate opens the accounts database and the storage gate for a
// maintenance command; close closes the database.
func openGate(ctx context.Context, g *globals, cfg *config.AccountServer) (gate *account.Gate, store account.Store, err error) {
	if !cfg.Storage.Configured() {
		return nil, nil, usageError(fmt.Errorf("%s: storage: not configured: quotas and usage need storage.endpoint and its keys", cfg.File()))
	}
	store, err = openAccountStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	gate, err = newGate(cfg, store.(account.ObjectStore), newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return gate, store, nil
}

// recount rebuilds every account's index and usage from the storage.
func recount(ctx context.Context, g *globals, cfg *config.AccountServer) error {
	gate, store, err := openGate(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	n := 0
	err = gate.RecountAll(ctx, func(id string, u account.Usage) {
		n++
		fmt.Fprintf(g.stdout, "%s: %d objects, %s\n", id, u.Objects, account.UsageText(u))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "recounted %d accounts\n", n)
	return nil
}

func accountQuotaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "quota ACCOUNT [SIZE]",
		Short: "Set one account's storage quota (e.g. 50GiB; 0 = no limit) and print its usage; without SIZE only print it",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.configPath == "" {
				return usageError(errors.New("--config is required"))
			}
			cfg, err := config.LoadAccount(g.configPath)
			if err != nil {
				return usageError(err)
			}
			if len(args) == 1 {
				return showQuota(cmd.Context(), g, cfg, args[0])
			}
			size, err := config.ParseSize(args[1])
			if err != nil {
				return usageError(err)
			}
			return setQuota(cmd.Context(), g, cfg, args[0], int64(size))
		},
	}
}

// setQuota sets an existing account's quota and prints the result.
func setQuota(ctx context.Context, g *globals, cfg *config.AccountServer, id string, quota int64) error {
	gate, store, err := openGate(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.AccountByID(ctx, id); err != nil {
		return usageError(fmt.Errorf("account %s: %w", id, err))
	}
	u, err := gate.SetQuota(ctx, id, quota)
	if err != nil {
		return err
	}
	limit := "no limit"
	if u.Quota > 0 {
		limit = config.Size(u.Quota).String()
	}
	fmt.Fprintf(g.stdout, "account %s: quota %s; %s (%d objects)\n", id, limit, account.UsageText(u), u.Objects)
	return nil
}

// startGate builds the storage gate for the running service and checks,
// without failing, that the bucket answers.
func startGate(ctx context.Context, cfg *config.AccountServer, store account.Store, log zerolog.Logger) (*account.Gate, error) {
	objects, ok := store.(account.ObjectStore)
	if !ok {
		return nil, errors.New("the accounts store keeps no object index")
	}
	gate, err := newGate(cfg, objects, log)
	if err != nil || gate == nil {
		if err == nil {
			log.Warn().Msg("no storage configured: devices cannot back up through this service")
		}
		return nil, err
	}
	check, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gate.Check(check); err != nil {
		log.Warn().Err(err).Str("endpoint", cfg.Storage.Endpoint).Str("bucket", cfg.Storage.Bucket).Msg("storage not reachable yet")
	} else {
		log.Info().Str("endpoint", cfg.Storage.Endpoint).Str("bucket", cfg.Storage.Bucket).
			Float64("grant_ttl_s", time.Duration(cfg.Storage.GrantTTL).Seconds()).Msg("storage gate ready")
	}
	return gate, nil
}
