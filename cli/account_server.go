package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

func accountServerCmd(g *globals) *cobra.Command {
	var dev, rotate, recounting bool
	var write string
	cmd := &cobra.Command{
		Use:   "account-server",
		Short: "Run the account service: sign-up, sign-in, device approval, the storage gate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if write != "" {
				return writeExample(g, write, config.ExampleAccount)
			}
			if g.configPath == "" {
				return usageError(errors.New("--config is required (write an example with --write-config account.yaml)"))
			}
			cfg, err := config.LoadAccount(g.configPath)
			if err != nil {
				return usageError(err)
			}
			if rotate {
				return rotateKey(cmd.Context(), g, cfg)
			}
			if recounting {
				return recount(cmd.Context(), g, cfg)
			}
			if !dev {
				if err := cfg.RequireDelivery(); err != nil {
					return usageError(err)
				}
			}
			return g.serveAccounts(cmd.Context(), cfg, dev)
		},
	}
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: codes go to outbox.log in the state dir and to the console, not to people")
	cmd.Flags().StringVar(&write, "write-config", "", "write a commented example config to this file and exit")
	cmd.Flags().BoolVar(&rotate, "rotate-key", false, "make a new token signing key and exit; every running replica signs with it within a minute, and the keys before it stay published and valid until the tokens they signed have expired")
	cmd.Flags().BoolVar(&recounting, "recount", false, "list every account's files on the storage, rebuild the index and usage, and exit")
	cmd.AddCommand(accountQuotaCmd(g))
	cmd.AddCommand(accountMigrateCmd(g))
	return cmd
}

func writeExample(g *globals, path, text string) error {
	if _, err := os.Stat(path); err == nil {
		return usageError(fmt.Errorf("%s already exists", path))
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "wrote %s\n", path)
	return nil
}

// newAccountService builds the service from its config.
func newAccountService(ctx context.Context, g *globals, cfg *config.AccountServer, dev bool) (*account.Service, account.Store, error) {
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	// The state dir holds secret.key and --dev's outbox even when the
	// accounts database lives elsewhere.
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, nil, cfg.KeyError("state_dir", err)
	}
	store, err := openAccountStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	account.StoreCaptchas(store)
	secret, keys, err := openKeys(ctx, cfg, store, log)
	if err == nil {
		var delivery account.Delivery
		delivery, err = newDelivery(g, cfg, dev)
		if err == nil {
			return account.NewService(store, keys, delivery, account.Config{
				Issuer: cfg.PublicURL, ClientID: cfg.ClientID, MinAge: cfg.MinAge, MinAgeByRegion: cfg.MinAgeByRegion,
				AccessTTL: time.Duration(cfg.Tokens.AccessTTL), RefreshTTL: time.Duration(cfg.Tokens.RefreshTTL),
				TrustedProxies: prefixes(cfg.TrustedProxies),
			}, secret, log), store, nil
		}
	}
	store.Close()
	return nil, nil, err
}

func newDelivery(g *globals, cfg *config.AccountServer, dev bool) (account.Delivery, error) {
	if dev {
		out := &account.Outbox{Path: filepath.Join(cfg.StateDir, "outbox.log"), Console: g.stdout}
		return account.Delivery{Email: out, SMS: out}, nil
	}
	var d account.Delivery
	if s := cfg.Delivery.Email.SMTP; s.Host != "" {
		password, err := readSecretFile(s.PasswordFile)
		if err != nil {
			return d, usageError(cfg.KeyError("delivery.email.smtp.password_file", err))
		}
		d.Email = &account.SMTPSender{Host: s.Host, Port: s.Port, Username: s.Username, Password: password, From: s.From, StartTLS: s.StartTLS}
	}
	if w := cfg.Delivery.SMS.Webhook; w.URL != "" {
		auth, err := readSecretFile(w.AuthHeaderFile)
		if err != nil {
			return d, usageError(cfg.KeyError("delivery.sms.webhook.auth_header_file", err))
		}
		d.SMS = &account.WebhookSender{URL: w.URL, AuthHeader: auth}
	}
	return d, nil
}

// readSecretFile reads an optional secret file (see config.ReadSecretFile).
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	return config.ReadSecretFile(path)
}

func (g *globals) serveAccounts(ctx context.Context, cfg *config.AccountServer, dev bool) error {
	svc, store, err := newAccountService(ctx, g, cfg, dev)
	if err != nil {
		return err
	}
	defer store.Close()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	hb, err := joinReplicas(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer leaveReplicas(hb, log)
	gate, err := startGate(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if errors.Is(err, os.ErrPermission) {
		return usageError(cfg.KeyError("listen", fmt.Errorf("%w: a port below 1024 needs CAP_NET_BIND_SERVICE (the comments in cloudkeep-accounts.service say how), or keep a higher port behind a reverse proxy", err)))
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: account.NewHandler(svc, log, account.WithGate(gate)), ReadHeaderTimeout: 10 * time.Second}
	log.Info().Str("listen", l.Addr().String()).Str("issuer", cfg.PublicURL).Bool("dev", dev).Msg("account service running")
	return serveUntilDone(ctx, srv, l, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { svc.Keys().Run(ctx) })
		wg.Go(func() { hb.Run(ctx) })
		svc.RunPrune(ctx)
		wg.Wait()
	})
}

// shutdownGrace is how long requests in flight may take to finish once the
// account service is told to stop.
const shutdownGrace = 5 * time.Second

// serveUntilDone serves l and runs background until ctx is done, then shuts
// the server down. It returns only when the server has finished its
// requests (or the grace ran out) and background has returned, so the
// caller may then close what they use. Under systemd (Type=notify) it
// reports READY once l is served and STOPPING when the shutdown begins.
func serveUntilDone(ctx context.Context, srv *http.Server, l net.Listener, background func(context.Context)) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		background(ctx)
		return nil
	})
	g.Go(func() error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	daemon.SdNotify(false, daemon.SdNotifyReady)
	g.Go(func() error {
		<-ctx.Done()
		daemon.SdNotify(false, daemon.SdNotifyStopping)
		shut, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			srv.Close()
			return fmt.Errorf("shut down: requests still running after %s: %w", shutdownGrace, err)
		}
		return nil
	})
	return g.Wait()
}

// prefixes parses networks the config has already checked.
func prefixes(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}
