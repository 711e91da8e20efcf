package agent

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// sender uploads one file and records the outcome in the journal.
type sender struct {
	journal  *journal.Journal
	uploader *uploader.Uploader
	keys     KeyTemplate
	since    time.Time // media.since: files taken before this day are skipped; zero: none
	log      zerolog.Logger
	memo     memo
	thumbs   *thumbnailer // makes photos' thumbnails; nil: none
}

// send uploads j, journals how it ended and returns that: the outcome,
// what the uploader reported, and why the file was not stored (nil when it
// was, or when it vanished). A file whose content this account already
// stores under another key (a rename, a copy, a restored file) is copied
// on the server instead of sent again (findCopy). A file whose key holds
// another file's content goes to a suffixed key instead (claimFor,
// uploader.Suffixed); one taken before media.since is skipped. progress
// is told the bytes sent, found the bytes the server already holds (nil:
// progress is told those too); both may be nil.
func (s *sender) send(ctx context.Context, j job, progress, found func(int64)) (outcome, uploader.Result, error) {
	if !s.keys.Ready() {
		return outSignedOut, uploader.Result{}, auth.ErrSignedOut // no account: no key to store under
	}
	defer s.memo.done(j.file.ID)
	a := s.describe(ctx, j) // the account may have changed since the scan: keys are made now
	j.key = a.key
	if reason := skipReason(a.info.Time, s.since); reason != "" && a.read {
		return s.skip(ctx, j, reason)
	}
	if err := s.journal.MarkUploading(ctx, j.file.ID); err != nil {
		switch {
		case interrupted(ctx, err):
			return outInterrupted, uploader.Result{}, err
		case isDiskFull(err):
			return outStateFull, uploader.Result{}, err
		}
		return outFailed, uploader.Result{}, err
	}
	up := uploader.Job{FileID: j.file.ID, Path: j.abs, Key: j.key, Meta: a.meta, Claim: s.claimFor(j),
		Progress: progress, Found: found, FindCopy: s.findCopy(j.key),
		New: j.file.Attempts == 0 && j.file.Key == "", Shared: !s.keys.DeviceScoped()}
	res, err := s.uploader.Upload(ctx, up)
	o, err := s.record(ctx, j, a, res, err)
	s.logResult(j, o, res, err)
	return o, res, err
}

// skip journals that j's file is left out, and why.
func (s *sender) skip(ctx context.Context, j job, reason string) (outcome, uploader.Result, error) {
	if err := s.journal.MarkSkipped(ctx, j.file.ID, reason); err != nil {
		switch {
		case interrupted(ctx, err):
			return outInterrupted, uploader.Result{}, err
		case isDiskFull(err):
			return outStateFull, uploader.Result{}, err
		}
		return outFailed, uploader.Result{}, err
	}
	s.log.Info().Str("path", j.abs).Str("reason", reason).Msg("not backed up")
	return outSkipped, uploader.Result{}, nil
}

// uploadJobs are the uploader's jobs for w, under the keys and with the
// metadata send will use; files send will skip, and group members whose
// main's key is not known yet, are left out.
func (s *sender) uploadJobs(ctx context.Context, w []job) []uploader.Job {
	out := make([]uploader.Job, 0, len(w))
	for _, j := range w {
		a, known := s.describeAhead(ctx, j)
		if !known || skipReason(a.info.Time, s.since) != "" && a.read {
			continue // a member whose main's key is not known yet has no key to grant
		}
		out = append(out, uploader.Job{FileID: j.file.ID, Path: j.abs, Key: a.key, Meta: a.meta, Shared: !s.keys.DeviceScoped()})
	}
	return out
}

// findCopy returns how the uploader finds an object of this account,
// other than key, that already holds a file's content: a file stored
// earlier (done or deleted since) or the source of a restored file, by
// SHA-256 and size, in one indexed query of the journal.
func (s *sender) findCopy(key string) uploader.FindCopy {
	prefix := s.keys.UserPrefix()
	return func(ctx context.Context, sha256 string, size int64) (journal.Source, error) {
		return s.journal.FindContent(ctx, sha256, size, prefix, key)
	}
}

// record journals how an upload that returned res and err ended, and names
// the outcome.
func (s *sender) record(ctx context.Context, j job, a asset, res uploader.Result, err error) (outcome, error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.journal.MarkDeleted(ctx, j.file.ID); err != nil {
			return outVanished, err
		}
		abortDeleted(ctx, s.uploader, s.log)
		return outVanished, nil
	case interrupted(ctx, err):
		return outInterrupted, err
	case auth.IsSignedOut(err):
		return outSignedOut, err
	case isQuota(err):
		return outQuota, err
	case storage.Unreachable(err):
		return outUnreachable, err // not the file's fault: it waits for the storage
	case isDiskFull(err): // not the file's fault: it waits for room
		return outStateFull, err
	case err != nil:
		if merr := s.journal.MarkFailed(ctx, j.file.ID, err); isDiskFull(merr) {
			return outStateFull, merr
		} else if merr != nil {
			err = errors.Join(err, merr)
		}
		return outFailed, err
	}
	stored := journal.Stored{Identity: res.Identity, Key: res.Key, ETag: res.ETag, SHA256: res.SHA256,
		Capture: a.meta.Capture, CaptureSource: a.meta.CaptureSource, Group: a.meta.Group}
	if err := s.journal.MarkDone(ctx, j.file.ID, stored); err != nil {
		switch {
		case interrupted(ctx, err):
			return outInterrupted, err
		case isDiskFull(err):
			return outStateFull, err
		}
		return outFailed, err
	}
	s.thumbs.offer(thumbJob{id: j.file.ID, path: j.abs, sha256: res.SHA256, identity: res.Identity, found: res.Skipped})
	switch {
	case res.Skipped:
		return outAlreadyStored, nil
	case res.Copied:
		return outCopied, nil
	}
	return outStored, nil
}

// logResult writes the one info line per stored file.
func (s *sender) logResult(j job, o outcome, res uploader.Result, err error) {
	switch o {
	case outVanished:
		if err != nil {
			s.log.Warn().Err(err).Str("path", j.abs).Msg("file vanished before upload; could not journal it")
			return
		}
		s.log.Debug().Str("path", j.abs).Msg("file vanished before upload")
	case outInterrupted:
		s.log.Debug().Str("key", j.key).Msg("upload interrupted; it resumes on the next start")
	case outSignedOut, outQuota, outUnreachable, outStateFull: // said once for every file
	case outFailed:
		s.log.Error().Err(err).Str("path", j.abs).Msg("upload failed")
	case outAlreadyStored:
		s.log.Info().Str("key", res.Key).Int64("size", res.Size).Msg("already stored")
	case outCopied:
		s.log.Info().Str("key", res.Key).Int64("size", res.Size).Msg("copied on the server")
	default:
		s.log.Info().Str("key", res.Key).Int64("size", res.Size).
			Int64("sent_bytes", res.Sent).Int64("duration_ms", res.Duration.Milliseconds()).
			Float64("mib_per_s", rateOf(res.Sent, res.Duration)).Msg("uploaded")
	}
}

// interrupted reports whether err is the end of ctx (a stop, the end of a
// pass): the upload resumes later and nothing failed. A deadline that ran
// out inside a call while ctx lives is a failure like any other. An
// upload a rule held when the agent stopped is interrupted too.
func interrupted(ctx context.Context, err error) bool {
	return errors.Is(err, uploader.ErrHeld) || err != nil && ctx.Err() != nil &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func isQuota(err error) bool {
	_, ok := storage.IsQuota(err)
	return ok
}

// rateOf is the rate of n bytes sent in d, in MiB/s: the bytes of this
// run only, not those of the parts a resumed upload found stored.
func rateOf(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()/(1<<20)*10) / 10
}
