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

func newClient(cfg *config.Agent) (*minio.Client, error) {
	secret, err := cfg.SecretKey()
	if err != nil {
		return nil, usageError(err)
	}
	s := cfg.Storage
	client, err := minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.Credentials.AccessKey, secret, ""),
		Secure: s.Secure,
		Region: s.Region,
	})
	if err != nil {
		return nil, usageError(fmt.Errorf("storage.endpoint: %w", err))
	}
	return client, nil
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

func newUploader(cfg *config.Agent, client *minio.Client, j *journal.Journal, log zerolog.Logger) *uploader.Uploader {
	s := cfg.Storage
	return uploader.New(client, j, uploader.Config{
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

func keyTemplate(cfg *config.Agent) agent.KeyTemplate {
	return agent.KeyTemplate{Template: cfg.Storage.KeyTemplate, User: cfg.Storage.User, Device: cfg.Device.Name}
}
