package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
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
	sent  int64

	stored       bool // the object already holds this content:
	etag, sha256 string
}

// putMultipart sends f in parts. One goroutine reads the file in order,
// hashing the whole file (SHA-256) and each part (CRC32C) in the same pass,
// and hands each part buffer to a sender. Parts the server already holds
// are read for the hash but not sent again.
func (u *Uploader) putMultipart(ctx context.Context, f *os.File, id journal.Identity, job Job) (Result, error) {
	up, err := u.resumeOrBegin(ctx, job, id)
	if err != nil {
		return Result{}, err
	}
	if up.stored {
		progress(job, id.Size)
		return Result{Identity: id, Key: job.Key, ETag: up.etag, SHA256: up.sha256, Skipped: true}, nil
	}
	sum, err := u.sendParts(ctx, f, id, job, up)
	if err != nil {
		if errors.Is(err, ErrChanged) {
			u.abort(job.FileID, up)
		}
		return Result{}, err
	}
	etag, err := u.complete(ctx, up)
	if err != nil {
		return Result{}, err
	}
	if err := u.setMetadata(ctx, job.Key, etag, id, sum); err != nil {
		return Result{}, err
	}
	if err := u.store.EndMultipart(ctx, job.FileID); err != nil {
		return Result{}, err
	}
	return Result{Identity: id, Key: job.Key, ETag: etag, SHA256: sum, Sent: up.sent}, nil
}

// resumeOrBegin continues the journaled upload of this file when it is still
// valid, and starts a new one otherwise, unless the object is already
// stored with this file's content.
func (u *Uploader) resumeOrBegin(ctx context.Context, job Job, id journal.Identity) (*upload, error) {
	m, err := u.store.Multipart(ctx, job.FileID)
	switch {
	case errors.Is(err, journal.ErrNotFound):
	case err != nil:
		return nil, err
	case m.Key != job.Key || !m.Identity.Equal(id):
		u.log.Debug().Str("key", m.Key).Msg("file changed since its upload began; starting over")
		u.abort(job.FileID, &upload{Multipart: m})
	default:
		known, err := u.serverParts(ctx, m)
		if err == nil {
			u.log.Info().Str("key", m.Key).Int("parts_stored", len(known)).Msg("resuming upload")
			return newUpload(m, known), nil
		}
		if !errors.Is(err, storage.ErrNoSuchUpload) {
			return nil, err
		}
		u.log.Info().Str("key", m.Key).Msg("upload expired on the server; starting over")
		if err := u.store.EndMultipart(ctx, job.FileID); err != nil {
			return nil, err
		}
	}
	digestOf := func() (digest, error) { return hashPath(job.Path, id.Size) }
	if etag, sum, ok, err := u.stored(ctx, job.Key, id, digestOf); err != nil {
		return nil, err
	} else if ok {
		return &upload{stored: true, etag: etag, sha256: sum}, u.store.EndMultipart(ctx, job.FileID)
	}
	return u.begin(ctx, job, id)
}

func (u *Uploader) begin(ctx context.Context, job Job, id journal.Identity) (*upload, error) {
	uploadID, err := u.st.Create(ctx, job.Key, id.Size, u.meta(id, "", job.Key))
	if err != nil {
		return nil, err
	}
	m := journal.Multipart{
		FileID:   job.FileID,
		Key:      job.Key,
		UploadID: uploadID,
		PartSize: PartSizeFor(id.Size, u.cfg.PartSize),
		Identity: id,
		Started:  time.Now(),
	}
	if err := u.store.BeginMultipart(ctx, m); err != nil {
		return nil, err
	}
	return newUpload(m, nil), nil
}

func newUpload(m journal.Multipart, known map[int]journal.Part) *upload {
	n := int((m.Size + m.PartSize - 1) / m.PartSize)
	return &upload{Multipart: m, known: known, done: make([]journal.Part, max(n, 1))}
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
// not hold yet, at most PartsInFlight buffers at a time across all uploads.
// It returns the file's SHA-256.
//
// Each part goes through a small pipeline, so that hashing the whole file,
// the one step that must go in file order, is the only serial one:
//
//   - the reader fills a buffer from the file and hands it on, in order;
//   - the hasher feeds the buffers to the file's SHA-256, in order;
//   - at the same time, one goroutine per part computes its CRC32C, asks
//     for the part's grant (account mode) and sends it, or skips a part the
//     server already holds.
//
// Both read the buffer, neither writes it, and it returns to the pool when
// both are done: the grant's round trip and the start of the send overlap
// the hashing, instead of following it, and memory stays PartsInFlight ×
// part size.
func (u *Uploader) sendParts(ctx context.Context, f *os.File, id journal.Identity, job Job, up *upload) (string, error) {
	g, gctx := errgroup.WithContext(ctx)
	whole := sha256.New()
	type filled struct {
		buf    []byte
		hashed chan struct{} // closed once buf is in whole
	}
	// Every buffer of this upload waits here at most once; the hasher
	// drains it until the reader closes it, whatever happens.
	toHash := make(chan filled, u.cfg.PartsInFlight)
	g.Go(func() error {
		for p := range toHash {
			if gctx.Err() == nil { // else the upload failed: only let go of the buffer
				whole.Write(p.buf)
			}
			close(p.hashed)
		}
		return nil
	})
	g.Go(func() error {
		defer close(toHash)
		for n, off := 1, int64(0); off < id.Size; n, off = n+1, off+up.PartSize {
			size := min(up.PartSize, id.Size-off)
			buf, err := u.buffers.get(gctx, size)
			if err != nil {
				return err
			}
			if err := readAt(f, buf, off); err != nil {
				u.buffers.put(buf)
				return err
			}
			p := filled{buf: buf, hashed: make(chan struct{})}
			toHash <- p
			g.Go(func() error {
				defer func() {
					<-p.hashed
					u.buffers.put(buf)
				}()
				part := partOf(buf, n)
				if k, ok := up.known[n]; ok && k.Size == part.Size && k.CRC32C == part.CRC32C {
					up.record(k)
					if err := u.store.SavePart(gctx, job.FileID, k); err != nil {
						return err
					}
					progress(job, size)
					return nil
				}
				return u.sendPart(gctx, job, up, part, buf)
			})
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return "", err
	}
	return hex.EncodeToString(whole.Sum(nil)), nil
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
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.Checksum(buf, castagnoli))
	return journal.Part{Number: n, Size: int64(len(buf)), CRC32C: base64.StdEncoding.EncodeToString(crc[:])}
}

// sendPart uploads one part with its CRC32C, which the server verifies, and
// journals it before it counts.
func (u *Uploader) sendPart(ctx context.Context, job Job, up *upload, part journal.Part, buf []byte) error {
	body := ratelimit.ReadSeeker(ctx, bytes.NewReader(buf), u.limiter)
	sent, err := u.st.PutPart(ctx, up.Key, up.UploadID, part.Number, body, part.Size, part.CRC32C)
	if err != nil {
		return err
	}
	part.ETag = sent.ETag
	if err := u.store.SavePart(ctx, job.FileID, part); err != nil {
		return err
	}
	up.record(part)
	up.mu.Lock()
	up.sent += part.Size
	up.mu.Unlock()
	progress(job, part.Size)
	return nil
}

func (up *upload) record(p journal.Part) {
	up.mu.Lock()
	up.done[p.Number-1] = p
	up.mu.Unlock()
}

// complete joins the parts; the server checks the full-object CRC32C.
func (u *Uploader) complete(ctx context.Context, up *upload) (string, error) {
	parts := make([]storage.Part, len(up.done))
	for i, p := range up.done {
		parts[i] = storage.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, CRC32C: p.CRC32C}
	}
	obj, err := u.st.Complete(ctx, up.Key, up.UploadID, parts)
	if err != nil {
		return "", err
	}
	return obj.ETag, nil
}

// setMetadata adds the SHA-256, known only once the whole file is read, to
// the completed object by copying it onto itself (a metadata-only update on
// MinIO).
func (u *Uploader) setMetadata(ctx context.Context, key, etag string, id journal.Identity, sum string) error {
	if _, err := u.st.Copy(ctx, key, key, etag, u.meta(id, sum, key)); err != nil {
		return fmt.Errorf("set metadata of %s: %w", key, err)
	}
	return nil
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

func hashPath(path string, size int64) (digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return digest{}, err
	}
	defer f.Close()
	return hashFile(f, size)
}
