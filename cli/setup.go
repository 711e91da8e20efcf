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

// storage is the S3 client and, in account mode, the device's sign-in.
type storage struct {
	client  *minio.Client
	creds   *credentials.Credentials
	session *auth.Session // nil in static mode
}

// newStorage connects to the storage: with static keys, or in account mode
// with credentials traded for the device's access token by MinIO's STS.
func newStorage(cfg *config.Agent) (*storage, error) {
	s := cfg.Storage
	st := &storage{}
	if s.Credentials.Mode == "account" {
		st.session = auth.NewSession(auth.File{Path: credentialsPath(cfg)}, cfg.Account.URL, cfg.Account.ClientID)
		if _, err := st.session.SignedIn(); err != nil && !auth.IsSignedOut(err) {
			return nil, err // e.g. a credentials file others can read
		}
		scheme := "http://"
		if s.Secure {
			scheme = "https://"
		}
		sts := cfg.Account.STS
		if sts == "" {
			sts = scheme + s.Endpoint
		}
		creds, err := st.session.StorageCredentials(sts, cfg.Account.RoleARN)
		if err != nil {
			return nil, err
		}
		st.creds = creds
	} else {
		secret, err := cfg.SecretKey()
		if err != nil {
			return nil, usageError(err)
		}
		st.creds = credentials.NewStaticV4(s.Credentials.AccessKey, secret, "")
	}
	client, err := minio.New(s.Endpoint, &minio.Options{Creds: st.creds, Secure: s.Secure, Region: s.Region})
	if err != nil {
		return nil, usageError(fmt.Errorf("storage.endpoint: %w", err))
	}
	st.client = client
	return st, nil
}

func credentialsPath(cfg *config.Agent) string {
	return filepath.Join(cfg.StateDir, auth.FileName)
}

// errNoBucket means the configured bucket does not exist.
var errNoBucket = errors.New("bucket does not exist")

// checkBucket fails early, and clearly, when the bucket is missing.
func checkBucket(ctx context.Context, client *minio.Client, bucket string) error {
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "AccessDenied" {
			return nil // may not list, may still write
		}
		return fmt.Errorf("reach storage at %s: %w", client.EndpointURL().Host, err)
	}
	if !ok {
		return fmt.Errorf("%w: %q at %s: create it first", errNoBucket, bucket, client.EndpointURL().Host)
	}
	return nil
}

func openJournal(ctx context.Context, cfg *config.Agent) (*journal.Journal, error) {
	return journal.Open(ctx, filepath.Join(cfg.StateDir, journal.FileName))
}

func newUploader(cfg *config.Agent, st *storage, j *journal.Journal, log zerolog.Logger, onRetry func()) *uploader.Uploader {
	s := cfg.Storage
	return uploader.New(st.client, j, uploader.Config{
		Renew:          st.creds.Expire,
		OnRetry:        onRetry,
		Bucket:         s.Bucket,
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
	f := &media.Filter{Include: cfg.Media.Include, Exclude: cfg.Media.Exclude}
	for _, k := range cfg.Media.Kinds {
		f.Kinds = append(f.Kinds, media.Kind(k))
	}
	return f
}

func keyTemplate(cfg *config.Agent, st *storage) agent.KeyTemplate {
	k := agent.KeyTemplate{Template: cfg.Storage.KeyTemplate, User: cfg.Storage.User, Device: cfg.Device.Name}
	if st.session != nil {
		k.UserOf = st.session.AccountID
	}
	return k
}
