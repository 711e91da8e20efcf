package uploader

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// S3 multipart limits.
const (
	maxParts    = 10000
	minPartSize = 5 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// PartSizeFor returns the part size for a file of size bytes: want, grown to
// a whole MiB when that is needed to stay within 10,000 parts.
func PartSizeFor(size, want int64) int64 {
	want = max(want, minPartSize)
	if size <= want*maxParts {
		return want
	}
	per := (size + maxParts - 1) / maxParts
	return (per + 1<<20 - 1) &^ (1<<20 - 1)
}

// upload is one multipart upload in progress.
type upload struct {
	journal.Multipart
	known map[int]journal.Part // parts the server holds, to skip when their CRC32C matches
	mu    sync.Mutex
	done  []journal.Part // by part number - 1
	turn  chan struct{}  // under a bandwidth limit: held by the one part being sent

	stored bool // the object already holds this content:
	etag   string
	hold   Hold // what the Claim answered for Key: Free keys that others share complete with CompleteNew
}

// putMultipart sends f in parts. The file is hashed before the upload
// begins, so that its SHA-256 is stored with the object from the start:
// the object is written once, never copied onto itself afterwards. Parts
// the server already holds (a resumed upload) are read for their CRC32C but
// not sent again.
func (u *Uploader) putMultipart(ctx context.Context, f *os.File, id journal.Identity, job Job) (Result, error) {
	up, err := u.resumeOrBegin(ctx, f, job, id)
	if err != nil {
		return Result{}, err
	}
	job.Key = up.Key // where it began, or place chose
	if up.stored {
		found(job, id.Size)
		return Result{Identity: id, Key: job.Key, ETag: up.etag, SHA256: up.SHA256, Skipped: true}, nil
	}
	etag, err := u.sendAndComplete(ctx, f, id, job, up)
	switch {
	case errors.Is(err, ErrChanged):
		u.abort(job.FileID, up)
	case errors.Is(err, storage.ErrExists):
		// Another writer stored the key while the parts went: they cannot
		// be joined elsewhere. The file goes again to the next key free.
		u.abort(job.FileID, up)
		return Result{Key: up.Key}, fmt.Errorf("%w: %w", errTaken, err)
	case errors.Is(err, storage.ErrNoSuchUpload):
		// Aborted under us (the file went away, see AbortDeleted): begin
		// again, which finds the file gone or back.
		if ferr := u.store.EndMultipart(ctx, job.FileID); ferr != nil {
			return Result{}, ferr
		}
		err = ErrChanged
	}
	if err != nil {
		return Result{}, err
	}
	if err := u.store.EndMultipart(ctx, job.FileID); err != nil {
		return Result{}, err
	}
	return Result{Identity: id, Key: job.Key, ETag: etag, SHA256: up.SHA256}, nil
}

// sendAndComplete sends the parts and joins them, once they are known to
// add up to the content hashed at the start (ErrChanged otherwise).
func (u *Uploader) sendAndComplete(ctx context.Context, f *os.File, id journal.Identity, job Job, up *upload) (string, error) {
	if err := u.sendParts(ctx, f, id, job, up); err != nil {
		return "", err
	}
	parts := make([]storage.Part, len(up.done))
	for i, p := range up.done {
		parts[i] = storage.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, CRC32C: p.CRC32C}
	}
	full, err := storage.FullCRC32C(parts)
	if err != nil {
		return "", err
	}
	if full != up.CRC32C {
		return "", ErrChanged // the parts were read after the file changed
	}
	// Appended to, or replaced by a rename over it: the parts hold the old
	// content, which must not become a version of the object.
	if now, err := os.Stat(job.Path); err != nil || !journal.IdentityOf(now).Equal(id) {
		return "", ErrChanged
	}
	complete := u.st.Complete
	if job.Shared && up.hold == Free {
		complete = u.st.CompleteNew
	}
	obj, err := complete(ctx, up.Key, up.UploadID, parts)
	if err != nil {
		return "", err
	}
	return obj.ETag, nil
}

// resumeOrBegin continues the journaled upload of this file when it is still
// valid, and starts a new one otherwise, unless the object is already
// stored with this file's content.
//
// A resumed upload trusts the hash it journaled when it began: the file's
// identity (size, mtime, inode) is unchanged, and every part is read again
// for its CRC32C, which must add up to the journaled full-object CRC32C
// before the upload completes. So a file changed in place is caught without
// hashing it again.
func (u *Uploader) resumeOrBegin(ctx context.Context, f *os.File, job Job, id journal.Identity) (*upload, error) {
	m, err := u.store.Multipart(ctx, job.FileID)
	switch {
	case errors.Is(err, journal.ErrNotFound):
	case err != nil:
		return nil, err
	case !job.mayTake(m.Key, m.SHA256) || !m.Identity.Equal(id):
		u.log.Debug().Str("key", m.Key).Msg("file changed since its upload began; starting over")
		u.abort(job.FileID, &upload{Multipart: m})
	case m.SHA256 == "" || m.CRC32C == "":
		u.log.Info().Str("key", m.Key).Msg("upload begun without the file's hash; starting over")
		u.abort(job.FileID, &upload{Multipart: m})
	default:
		hold, err := u.resumedHold(ctx, job, m)
		if err != nil {
			return nil, err
		}
		if hold == Held {
			u.log.Debug().Str("key", m.Key).Msg("another file holds the key of this upload; starting over")
			u.abort(job.FileID, &upload{Multipart: m})
			break
		}
		known, err := u.serverParts(ctx, m)
		if err == nil {
			u.log.Info().Str("key", m.Key).Int("parts_stored", len(known)).Msg("resuming upload")
			up := newUpload(m, known)
			up.hold = hold
			return up, nil
		}
		if !errors.Is(err, storage.ErrNoSuchUpload) {
			return nil, err
		}
		u.log.Info().Str("key", m.Key).Msg("upload expired on the server; starting over")
		if err := u.store.EndMultipart(ctx, job.FileID); err != nil {
			return nil, err
		}
	}
	d, err := job.fileDigest(f, id.Size)
	if err != nil {
		return nil, err
	}
	if !job.placed {
		key, etag, same, hold, err := u.place(ctx, job, id, d)
		if err != nil {
			return nil, err
		}
		if job.Key, job.hold = key, hold; same {
			up := &upload{stored: true, etag: etag}
			up.Key, up.SHA256 = key, d.sha256
			return up, u.store.EndMultipart(ctx, job.FileID)
		}
	}
	return u.begin(ctx, job, id, d)
}

// begin starts an upload whose object carries the file's SHA-256 from the
// start.
func (u *Uploader) begin(ctx context.Context, job Job, id journal.Identity, d digest) (*upload, error) {
	uploadID, err := u.st.Create(ctx, job.Key, id.Size, u.meta(job, id, d.sha256, job.Key))
	if err != nil {
		return nil, err
	}
	m := journal.Multipart{
		FileID:   job.FileID,
		Key:      job.Key,
		UploadID: uploadID,
		PartSize: PartSizeFor(id.Size, u.cfg.PartSize),
		Identity: id,
		SHA256:   d.sha256,
		CRC32C:   d.crc32c,
		Started:  time.Now(),
	}
	if err := u.store.BeginMultipart(ctx, m); err != nil {
		return nil, err
	}
	u.begun.Store(job.FileID, true)
	up := newUpload(m, nil)
	up.hold = job.hold
	return up, nil
}

// resumedHold is what job.Claim answers for the key of m, an upload
// journaled before, when other writers share its keys: whether it must
// complete only while the key is free. Own otherwise.
func (u *Uploader) resumedHold(ctx context.Context, job Job, m journal.Multipart) (Hold, error) {
	if !job.Shared || job.Claim == nil {
		return Own, nil
	}
	return job.Claim(ctx, m.Key, m.SHA256)
}

func newUpload(m journal.Multipart, known map[int]journal.Part) *upload {
	n := int((m.Size + m.PartSize - 1) / m.PartSize)
	return &upload{Multipart: m, known: known, done: make([]journal.Part, max(n, 1)), turn: make(chan struct{}, 1)}
}

// serverParts lists the parts the server holds for m. A part whose CRC32C
// the server does not report is taken from the journal when the ETags agree.
func (u *Uploader) serverParts(ctx context.Context, m journal.Multipart) (map[int]journal.Part, error) {
	journaled := map[int]journal.Part{}
	for _, p := range m.Parts {
		journaled[p.Number] = p
	}
	parts, err := u.st.ListParts(ctx, m.Key, m.UploadID)
	if err != nil {
		return nil, err
	}
	known := map[int]journal.Part{}
	for _, p := range parts {
		crc := p.CRC32C
		if j, ok := journaled[p.Number]; ok && crc == "" && j.ETag == p.ETag {
			crc = j.CRC32C
		}
		if crc != "" {
			known[p.Number] = journal.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, CRC32C: crc}
		}
	}
	return known, nil
}

// sendParts reads the file part by part and sends the parts the server does
// not hold yet, at most PartsInFlight buffers at a time across all uploads:
// the reader fills a buffer from the file, in order, and hands it to a
// goroutine of its own that computes the part's CRC32C, then skips the part
// (the server holds it) or sends it.
//
// The parts the server holds count as progress at once; one that turns out
// to differ from the file is taken back and sent again. Each part waits
// for the gate (Gate) before it is read and before it is sent.
func (u *Uploader) sendParts(ctx context.Context, f *os.File, id journal.Identity, job Job, up *upload) error {
	var held int64
	for _, k := range up.known {
		held += k.Size
	}
	found(job, held)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for n, off := 1, int64(0); off < id.Size; n, off = n+1, off+up.PartSize {
			if err := u.mayGo(gctx, job.Path, id); err != nil {
				return err
			}
			size := min(up.PartSize, id.Size-off)
			buf, err := u.buffers.get(gctx, size)
			if err != nil {
				return err
			}
			if err := readAt(f, buf, off); err != nil {
				u.buffers.put(buf)
				return err
			}
			g.Go(func() error {
				defer u.buffers.put(buf)
				return u.sendOrSkip(gctx, job, up, partOf(buf, n), buf)
			})
		}
		return nil
	})
	return g.Wait()
}

// sendOrSkip sends part (held in buf) unless the server holds it already.
func (u *Uploader) sendOrSkip(ctx context.Context, job Job, up *upload, part journal.Part, buf []byte) error {
	k, ok := up.known[part.Number]
	if ok && k.Size == part.Size && k.CRC32C == part.CRC32C {
		up.record(k)
		return u.store.SavePart(ctx, job.FileID, k)
	}
	if ok {
		found(job, -k.Size) // not this file's bytes: counted at the start, sent now
	}
	return u.sendPart(ctx, job, up, part, buf)
}

// readAt fills buf from f at off. A short read means the file changed.
func readAt(f *os.File, buf []byte, off int64) error {
	if _, err := f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrChanged
		}
		return &PermanentError{Err: fmt.Errorf("read %s: %w", f.Name(), err)}
	}
	return nil
}

// partOf returns part n, held in buf, with its CRC32C.
func partOf(buf []byte, n int) journal.Part {
	return journal.Part{Number: n, Size: int64(len(buf)), CRC32C: crcBase64(crc32.Checksum(buf, castagnoli))}
}

// sendPart uploads one part with its CRC32C, which the server verifies, and
// journals it before it counts. Its bytes count as progress while the HTTP
// client sends them, and are taken back if the part fails.
//
// Under a bandwidth limit a file sends one part at a time: parallel parts
// would share the same bandwidth and all finish late, so that a crash
// would lose them all; one at a time, a crash loses one part at most.
func (u *Uploader) sendPart(ctx context.Context, job Job, up *upload, part journal.Part, buf []byte) error {
	if u.limited() {
		select {
		case up.turn <- struct{}{}:
			defer func() { <-up.turn }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := u.mayGo(ctx, job.Path, up.Identity); err != nil { // a part read before a rule held uploads waits
		return err
	}
	held := newHeldBody(buf)
	defer held.release()
	body := newSending(ratelimit.ReadSeeker(ctx, held, u.limiter), part.Size, job.Progress)
	sent, err := u.st.PutPart(ctx, up.Key, up.UploadID, part.Number, body, part.Size, part.CRC32C)
	if err != nil {
		body.failed()
		return err
	}
	part.ETag = sent.ETag
	if err := u.store.SavePart(ctx, job.FileID, part); err != nil {
		body.failed() // not journaled: it will be sent again
		return err
	}
	body.acked() // a part shows as done once a crash cannot lose it
	u.acked(job, part.Size)
	up.record(part)
	return nil
}

func (up *upload) record(p journal.Part) {
	up.mu.Lock()
	up.done[p.Number-1] = p
	up.mu.Unlock()
}

// abort cancels an upload on the server and forgets it. It runs even when
// ctx is done: it is cleanup.
func (u *Uploader) abort(fileID int64, up *upload) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.st.Abort(ctx, up.Key, up.UploadID); err != nil {
		u.log.Warn().Err(err).Str("key", up.Key).Msg("abort multipart upload")
	}
	if err := u.store.EndMultipart(ctx, fileID); err != nil {
		u.log.Warn().Err(err).Str("key", up.Key).Msg("forget multipart upload")
	}
}
