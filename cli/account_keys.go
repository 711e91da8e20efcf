package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/config"
)

// openKeys returns the service secret (secret_key_file, else secret.key
// in state_dir) and the signing keys in store.
func openKeys(ctx context.Context, cfg *config.AccountServer, store account.Store, log zerolog.Logger) ([]byte, *account.Keys, error) {
	var secret []byte
	var err error
	if cfg.SecretKeyFile != "" {
		if secret, err = account.ReadSecretFile(cfg.SecretKeyFile); err != nil {
			return nil, nil, usageError(cfg.KeyError("secret_key_file", err))
		}
	} else if secret, err = account.LoadSecret(cfg.StateDir); err != nil {
		return nil, nil, err
	}
	keys, err := account.OpenKeys(ctx, store, secret, cfg.StateDir, time.Duration(cfg.Tokens.AccessTTL), log)
	if errors.Is(err, account.ErrWrongSecret) {
		where := "secret.key in state_dir " + cfg.StateDir
		if cfg.SecretKeyFile != "" {
			where = "secret_key_file " + cfg.SecretKeyFile
		}
		return nil, nil, usageError(fmt.Errorf("%w (%s): every replica must use the secret_key_file the signing keys in the accounts database were made with", err, where))
	}
	return secret, keys, err
}

// rotateKey makes a new signing key in the store.
func rotateKey(ctx context.Context, g *globals, cfg *config.AccountServer) error {
	store, err := openAccountStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	log := newLogger(g.stderr, cfg.Log.Level, cfg.Log.Format)
	_, keys, err := openKeys(ctx, cfg, store, log)
	if err == nil {
		err = keys.Rotate(ctx)
	}
	if err != nil {
		return fmt.Errorf("rotate the signing key: %w", err)
	}
	fmt.Fprintf(g.stdout, "new signing key in place: every running replica signs with it within a minute; the keys before it stay in /jwks.json, and valid, until the tokens they signed have expired (tokens.access_ttl %s, and a minute).\n", time.Duration(cfg.Tokens.AccessTTL))
	return nil
}
