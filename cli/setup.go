package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// This file is the one place where configuration becomes domain objects.

func (g *globals) loadConfig() (*config.Agent, error) {
	path := g.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError(err)
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	if g.logFormat != "" {
		cfg.Log.Format = g.logFormat
	}
	return cfg, nil
}

// newLogger writes JSON, or a human console format when w is a terminal
// (format "auto") or when asked.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if format == "console" || (format == "auto" && isTerminal(w)) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bucket is where backups go: the storage (wrapped once with retries),
// the direct client in static mode, or the device's sign-in and its grants
// in account mode.
type bucket struct {
	log     zerolog.Logger
	st      storage.Storage
	client  *minio.Client    // static mode; nil in account mode
	session *auth.Session    // account mode; nil in static mode
	granted *storage.Granted // account mode; nil in static mode
	health  *storage.Health  // whether the storage (and the account service) answer
}

// newBucket connects to the storage: with static keys, or in account mode
// through grants of the account service for the device's access token.
// onRetry (may be nil) is told of each storage call tried again.
func newBucket(cfg *config.Agent, log zerolog.Logger, onRetry func()) (*bucket, error) {
	s := cfg.Storage
	b := &bucket{log: log}
	server := storage.Server{Name: storage.NameStorage, Endpoint: s.Endpoint}
	if s.Credentials.Mode == "account" {
		server = storage.Server{Name: storage.NameAccountService, Endpoint: cfg.Account.URL}
	}
	health := storage.NewServerHealth(server).Logging(log.With().Str("component", "storage").Logger(), storage.DownAdvice)
	var inner storage.Storage
	if s.Credentials.Mode == "account" {
		b.session = auth.NewSession(auth.File{Path: credentialsPath(cfg)}, cfg.Account.URL, cfg.Account.ClientID)
		if _, err := b.session.SignedIn(); err != nil && !auth.IsSignedOut(err) {
			return nil, err // e.g. a credentials file others can read
		}
		b.granted = storage.NewGranted(cfg.Account.URL, b.session, time.Duration(s.RequestTimeout), log)
		b.granted.ReportTo(health) // names the server that does not answer
		inner = b.granted
	} else {
		secret, err := cfg.SecretKey()
		if err != nil {
			return nil, usageError(err)
		}
		creds := credentials.NewStaticV4(s.Credentials.AccessKey, secret, "")
		tr, err := minio.DefaultTransport(s.Secure)
		if err != nil {
			return nil, err
		}
		tr = storage.WithRequestTimeout(tr, time.Duration(s.RequestTimeout))
		// minio-go's own retries come before storage.Retry: the transport
		// reports a request that got no answer itself, at once.
		client, err := minio.New(s.Endpoint, &minio.Options{Creds: creds, Secure: s.Secure, Region: s.Region,
			Transport: storage.ReportingTo(tr, health), MaxRetries: 2})
		if err != nil {
			return nil, usageError(fmt.Errorf("storage.endpoint: %w", err))
		}
		b.client = client
		inner = storage.NewDirect(client, s.Bucket)
	}
	r := storage.WithRetry(inner, storage.DefaultBackoff, log, onRetry)
	r.Health = health
	if b.granted != nil {
		r.Health = nil // the transport reports each server's answers itself
	}
	b.st, b.health = r, health
	return b, nil
}

// close sends what the storage still owes the account service.
func (b *bucket) close() {
	if b.granted == nil {
		return
	}
	if s := b.health.Status(); !s.Reachable && s.Server == storage.NameAccountService {
		b.log.Warn().Str("error", s.LastError).Msg("could not report the last uploads to the account service: it does not answer")
		return // the backup already waited for it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.granted.Close(ctx); err != nil {
		b.log.Warn().Err(err).Msg("could not report the last uploads to the account service")
	}
	b.log.Debug().Int64("grant_calls", b.granted.GrantCalls()).Msg("storage grants")
}

func credentialsPath(cfg *config.Agent) string {
	return filepath.Join(cfg.StateDir, auth.FileName)
}

// errNoBucket means the configured bucket does not exist.
var errNoBucket = errors.New("bucket does not exist")

// checkBucket fails early, and clearly, when the bucket is missing. In
// account mode the account service checks its bucket itself.
func checkBucket(ctx context.Context, b *bucket, bucket string) error {
	client := b.client
	if client == nil {
		return nil
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		switch minio.ToErrorResponse(err).Code {
		case "AccessDenied":
			return nil // may not list, may still write
		case "RequestTimeTooSkewed":
			return clockSkew(ctx, client.EndpointURL())
		case "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return refusedCredentials(err)
		}
		return fmt.Errorf("reach storage at %s: %w", client.EndpointURL().Host, err)
	}
	if !ok {
		return fmt.Errorf("%w: %q at %s: %s", errNoBucket, bucket, client.EndpointURL().Host, createBucketHint(bucket, client.EndpointURL()))
	}
	return nil
}

// backend is how a command reaches the backup: the bucket, and, for the
// commands that upload, the journal and the uploader. Close releases it.
type backend struct {
	*bucket
	cfg      *config.Agent
	journal  *journal.Journal   // nil until openUploads
	uploader *uploader.Uploader // nil until openUploads
	// onRetry, when set before the storage is used, is told of each
	// storage call tried again.
	onRetry func()
}

// openBackend connects to the storage of cfg (see newBucket); it makes no
// request yet. Every command that reaches the backup — backup, run, ls,
// restore — starts here.
func openBackend(cfg *config.Agent, log zerolog.Logger) (*backend, error) {
	be := &backend{cfg: cfg}
	b, err := newBucket(cfg, log, be.retried)
	if err != nil {
		return nil, err
	}
	be.bucket = b
	return be, nil
}

func (be *backend) retried() {
	if be.onRetry != nil {
		be.onRetry()
	}
}

// requireSignIn fails (exit 1) when, in account mode, the device has no
// usable sign-in. In static mode it does nothing.
func (be *backend) requireSignIn(ctx context.Context) error {
	if be.session == nil {
		return nil
	}
	if _, err := be.session.AccessToken(ctx); err != nil {
		return &exitError{exitFailed, err}
	}
	return nil
}

// checkBucket fails with errNoBucket when the configured bucket is
// missing, and with another error when the storage cannot be reached.
func (be *backend) checkBucket(ctx context.Context) error {
	return checkBucket(ctx, be.bucket, be.cfg.Storage.Bucket)
}

// awaitBucket is checkBucket, tried again while the storage does not
// answer, for up to limit: then it returns a *storage.UnreachableError. A
// request that stalls counts against limit too, however long
// request_timeout is.
func (be *backend) awaitBucket(ctx context.Context, limit time.Duration) error {
	start := time.Now()
	for {
		left := limit - time.Since(start)
		cctx, cancel := context.WithTimeout(ctx, left)
		err := be.checkBucket(cctx)
		timedOut := cctx.Err() != nil && ctx.Err() == nil
		cancel()
		if timedOut {
			err = storage.NoAnswer(left)
			be.health.Report(err)
		}
		if err == nil || ctx.Err() != nil || !storage.Unreachable(err) {
			return err
		}
		if time.Since(start) >= limit-100*time.Millisecond {
			return &storage.UnreachableError{HealthStatus: storage.HealthStatus{Endpoint: be.health.Status().Endpoint, LastError: storage.Short(err)}, For: limit}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		// Leave the next request at least 100 ms: one with no time left
		// would report "no answer within 0s" over the real reason.
		case <-time.After(min(500*time.Millisecond, limit-time.Since(start)-200*time.Millisecond)):
		}
	}
}

// openUploads opens the journal and the uploader that writes to it.
func (be *backend) openUploads(ctx context.Context) error {
	j, err := openJournal(ctx, be.cfg)
	if err != nil {
		return err
	}
	be.journal = j
	be.uploader = newUploader(be.cfg, be.bucket, j, be.log)
	return nil
}

// Close sends what the storage still owes the account service, then
// closes the journal when one was opened.
func (be *backend) Close() {
	be.bucket.close()
	if be.journal != nil {
		be.journal.Close()
	}
}

func openJournal(ctx context.Context, cfg *config.Agent) (*journal.Journal, error) {
	return journal.Open(ctx, filepath.Join(cfg.StateDir, journal.FileName))
}

func newUploader(cfg *config.Agent, b *bucket, j *journal.Journal, log zerolog.Logger) *uploader.Uploader {
	s := cfg.Storage
	return uploader.New(b.st, j, uploader.Config{
		Device:         cfg.Device.Name,
		PartSize:       int64(s.PartSize),
		Threshold:      int64(s.MultipartThreshold),
		PartsInFlight:  s.Concurrency.Parts,
		BandwidthLimit: int64(s.BandwidthLimit),
	}, log)
}

func roots(cfg *config.Agent) []agent.Root {
	out := make([]agent.Root, len(cfg.Watch))
	for i, r := range cfg.Watch {
		out[i] = agent.Root{Name: r.Name, Path: r.Path}
	}
	return out
}

func filter(cfg *config.Agent) *media.Filter {
	f := &media.Filter{Include: cfg.Media.Include, Exclude: cfg.Media.Exclude, Presets: cfg.Media.ExcludePresets}
	for _, k := range cfg.Media.Kinds {
		f.Kinds = append(f.Kinds, media.Kind(k))
	}
	return f
}

func keyTemplate(cfg *config.Agent, b *bucket) agent.KeyTemplate {
	k := agent.KeyTemplate{Template: cfg.Storage.KeyTemplate, User: cfg.Storage.User, Device: cfg.Device.Name}
	if b.session != nil {
		k.UserOf = b.session.AccountID
	}
	return k
}
