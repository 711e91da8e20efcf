// Package uploader stores files in an S3-compatible bucket: a single PUT for
// small files, a resumable multipart upload for big ones. Every finished part
// is written to a Store before it counts, so an upload interrupted by a crash,
// a reboot or a dead network continues where it stopped.
package uploader

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// ErrChanged means the file changed while it was being read; the upload is
// tried again from the new content.
var ErrChanged = errors.New("file changed during upload")

// Store keeps the state of in-flight multipart uploads. *journal.Journal
// implements it. Multipart returns journal.ErrNotFound when the file has no
// upload in flight.
type Store interface {
	Multipart(ctx context.Context, fileID int64) (journal.Multipart, error)
	BeginMultipart(ctx context.Context, m journal.Multipart) error
	SavePart(ctx context.Context, fileID int64, p journal.Part) error
	EndMultipart(ctx context.Context, fileID int64) error
	DeletedUploads(ctx context.Context) ([]journal.Multipart, error)
}

// Config sets how the Uploader sends files.
type Config struct {
	Device         string
	PartSize       int64 // at least 5 MiB
	Threshold      int64 // files this big or bigger go multipart
	PartsInFlight  int   // part buffers shared by all uploads
	BandwidthLimit int64 // bytes per second; 0 for no limit
}

// Uploader uploads files. It is safe for concurrent use.
type Uploader struct {
	st      storage.Storage
	store   Store
	cfg     Config
	limiter *rate.Limiter
	buffers *bufferPool
	log     zerolog.Logger
	hashed  sync.Map // path → hashedFile, from Ahead
	listed  *listings
	begun   sync.Map // file id → true: a multipart upload began in this process (Job.New no longer holds)

	allow func(ctx context.Context) error // lets each part go; nil: always (see Gate)
	sent  func(n int64)                   // told the bytes acknowledged; may be nil
}

// New returns an Uploader that stores into st and checkpoints in store.
// st is expected to retry what may succeed when tried again
// (storage.WithRetry): the Uploader does not.
func New(st storage.Storage, store Store, cfg Config, log zerolog.Logger) *Uploader {
	if cfg.PartsInFlight < 1 {
		cfg.PartsInFlight = 1
	}
	return &Uploader{
		st:      st,
		store:   store,
		cfg:     cfg,
		limiter: newLimiter(cfg.BandwidthLimit),
		buffers: newBufferPool(cfg.PartsInFlight),
		log:     log.With().Str("component", "uploader").Logger(),
		listed:  newListings(st),
	}
}

// Job is one file to upload.
type Job struct {
	FileID   int64    // the file's journal row, the key of its multipart state
	Path     string   // the local file
	Key      string   // the object key
	FindCopy FindCopy // finds an object already holding the file's content; may be nil
	// New says the journal has neither stored the file nor tried to: it
	// holds no multipart upload of it, and its key holds an object only if
	// the listing of its folder shows one (see putSingle).
	New bool
	// Meta holds what is known of the file beyond its bytes: capture time
	// and source, group, motion photo. The Uploader sets the rest (SHA256,
	// MTime, Device, ContentType).
	Meta storage.Meta
	// Claim, when set, keeps the file from replacing another file's object
	// (see place): Key is then where the file goes unless that holds
	// another content; nil: Key is the file's, whatever it holds.
	Claim Claim
	// Shared says other writers (the account's other devices, under a
	// key template without {device}) may store under the keys the file
	// may take: no listing of a folder tells a key is free, each is asked
	// about, and a key found free is written only while it still is
	// (storage.PutNew, CompleteNew). A key another writer took meanwhile
	// is looked at again, then the next candidate tried (see place).
	Shared   bool
	hashed   *digest       // the file's digest, once copyStored has read it
	hold     Hold          // what Claim answered for Key, once placed
	placed   bool          // Key is where the file goes (place has chosen it)
	sent     *atomic.Int64 // bytes the server acknowledged in this call, across tries
	Progress func(n int64) // called with each change of the bytes sent (as they go out; negative when a failed request is taken back); may be nil
	Found    func(n int64) // called with the bytes the server already holds (a resumed upload's parts, an object already stored): done, but not sent; negative when taken back; nil: they count in Progress
}

// Result says what an upload stored.
type Result struct {
	journal.Identity  // the file as uploaded
	Key, ETag, SHA256 string
	Sent              int64 // bytes sent in this call, tries of a changed file too (not counting resumed parts)
	Skipped           bool  // the object was already stored with this content
	Copied            bool  // stored by a server-side copy of what Job.FindCopy found
	Duration          time.Duration
}

// maxChangedRetries bounds how often a file that keeps changing is re-read.
const maxChangedRetries = 3

// errTaken is storage.ErrExists met by an upload: another writer stored
// the key first. The upload goes again, to the key place then chooses.
var errTaken = errors.New("another writer stored the key first")

// maxTaken bounds how often one upload finds its key taken: once per
// candidate key (see candidates), and once more.
const maxTaken = 5

// Upload stores the file at job.Path under job.Key. A file that changes
// while it is read is uploaded again from its new content. Errors that will
// not go away by retrying are *PermanentError.
func (u *Uploader) Upload(ctx context.Context, job Job) (Result, error) {
	start := time.Now()
	job.sent = new(atomic.Int64)
	if job.Found == nil {
		job.Found = job.Progress
	}
	var counted []*tally
	for _, fn := range []*func(int64){&job.Progress, &job.Found} {
		if *fn != nil {
			t := &tally{fn: *fn}
			*fn = t.add
			counted = append(counted, t)
		}
	}
	taken := 0
	for try := 0; ; try++ {
		res, err := u.uploadOnce(ctx, job)
		if errors.Is(err, errTaken) && taken < maxTaken {
			taken, try = taken+1, try-1
			u.log.Debug().Str("key", res.Key).Msg("another writer stored this key first; looking for the next")
			for _, t := range counted {
				t.takeBack()
			}
			continue
		}
		if errors.Is(err, ErrChanged) && try < maxChangedRetries {
			u.log.Debug().Str("key", job.Key).Msg("file changed during upload; uploading again")
			for _, t := range counted {
				t.takeBack()
			}
			continue
		}
		res.Duration, res.Sent = time.Since(start), job.sent.Load()
		return res, err
	}
}

func (u *Uploader) uploadOnce(ctx context.Context, job Job) (Result, error) {
	f, err := os.Open(job.Path)
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}
	if !fi.Mode().IsRegular() {
		return Result{}, &PermanentError{Err: fmt.Errorf("%s is not a regular file", job.Path)}
	}
	id := journal.IdentityOf(fi)
	var res Result
	if id.Size < u.cfg.Threshold || id.Size == 0 {
		res, err = u.putSingle(ctx, f, id, job)
	} else {
		res, err = u.putLarge(ctx, f, id, job)
	}
	if err != nil {
		return res, err
	}
	// A writer that finished during the upload leaves a new identity.
	if now, err := os.Stat(job.Path); err == nil && !journal.IdentityOf(now).Equal(id) {
		return res, ErrChanged
	}
	return res, nil
}

// meta is what is stored with the object of job's file: job.Meta with
// the file's hash, mtime, device and content type.
func (u *Uploader) meta(job Job, id journal.Identity, sum, key string) storage.Meta {
	m := job.Meta
	m.SHA256, m.MTime, m.Device, m.ContentType = sum, id.MTime, u.cfg.Device, contentType(key)
	return m
}

// stored reports whether key already holds the file's content, and returns
// the object's ETag and the file's SHA-256 (see objectAt).
// An error other than "not found" is returned: the object may be there, and
// sending the file again in full would be wasted.
func (u *Uploader) stored(ctx context.Context, key string, id journal.Identity, digestOf func() (digest, error)) (string, string, bool, error) {
	at, etag, d, err := u.objectAt(ctx, key, id, digestOf)
	if err != nil || at != sameObject {
		return "", "", false, err
	}
	u.log.Debug().Str("key", key).Msg("already stored with the same content")
	return etag, d.sha256, true, nil
}

// objectAt says what key holds: no object (or none this device may read),
// the file's content, or another. An object holds the file's content when
// it has the file's size and either a sha256 in its metadata equal to the
// file's or, without one (an object completed by an earlier version, which
// added the sha256 afterwards), a full-object CRC32C equal to the file's:
// it is kept as it is, not rewritten. The file is hashed (by digestOf) only
// when size and metadata make that worth it.
func (u *Uploader) objectAt(ctx context.Context, key string, id journal.Identity, digestOf func() (digest, error)) (held, string, digest, error) {
	info, err := u.st.Stat(ctx, key)
	var denied *storage.PermanentError
	if errors.Is(err, storage.ErrNotFound) || errors.As(err, &denied) {
		return noObject, "", digest{}, nil // not there, or not ours to read: send it
	}
	if err != nil {
		return otherObject, "", digest{}, err
	}
	fullCRC := info.FullObject && info.CRC32C != ""
	if info.Size != id.Size || (info.Meta.SHA256 == "" && !fullCRC) {
		return otherObject, "", digest{}, nil
	}
	d, err := digestOf()
	switch {
	case err != nil:
		return otherObject, "", digest{}, err
	case info.Meta.SHA256 != "":
		if info.Meta.SHA256 != d.sha256 {
			return otherObject, "", d, nil
		}
	case info.CRC32C != d.crc32c:
		return otherObject, "", d, nil
	}
	return sameObject, info.ETag, d, nil
}

// held is what an object key holds.
type held int

const (
	noObject    held = iota
	sameObject       // the file's content
	otherObject      // another content
)

// found reports n bytes the server holds (taken back when negative) to
// job.Found.
func found(job Job, n int64) {
	if job.Found != nil && n != 0 {
		job.Found(n)
	}
}

// digest is a file's SHA-256 (hex) and CRC32C (base64, as S3 spells it).
type digest struct{ sha256, crc32c string }

// contentType guesses the MIME type from the key's extension.
func contentType(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if t, ok := extraTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

var extraTypes = map[string]string{
	".heic": "image/heic", ".heif": "image/heif", ".dng": "image/x-adobe-dng",
	".mov": "video/quicktime", ".m4v": "video/x-m4v", ".3gp": "video/3gpp",
	".mkv": "video/x-matroska", ".mp4": "video/mp4", ".webm": "video/webm",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
}
