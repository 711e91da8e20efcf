package uploader

import (
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

	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// putSingle sends a file below the multipart threshold in one PUT with its
// CRC32C, which the server checks the body against: the payload itself is
// not signed, so neither side hashes it for the signature.
//
// A file no bigger than a part is read once, into a buffer: its SHA-256
// and CRC32C come from the bytes that are sent, and a retry sends the same
// bytes again. A bigger one (a threshold set above the part size) is
// hashed, then sent from the file.
//
// The key is chosen (place) once the digest is known; the object is
// looked for (Stat) before the PUT only when it may exist: a new file
// (Job.New) whose key the listing of its folder does not hold, or holds
// with another size, is not asked about.
func (u *Uploader) putSingle(ctx context.Context, f *os.File, id journal.Identity, job Job) (Result, error) {
	if err := u.abortShrunk(ctx, job); err != nil {
		return Result{}, err
	}
	c, err := u.read(f, job.Path, id)
	if err != nil {
		return Result{}, err
	}
	defer c.release()
	key, etag, same, hold, err := u.place(ctx, job, id, c.digest)
	if err != nil {
		return Result{}, err
	}
	job.Key = key
	res := Result{Identity: id, Key: key, SHA256: c.sha256}
	if same {
		res.ETag, res.Skipped = etag, true
		found(job, id.Size)
		return res, nil
	}
	job.hold = hold
	if res, ok, err := u.copyStored(ctx, id, job, c.digest); ok || err != nil {
		return res, err
	}
	body := newSending(ratelimit.ReadSeeker(ctx, c.body, u.limiter), id.Size, job.Progress)
	put := u.st.Put
	if job.ifAbsent() {
		put = u.st.PutNew
	}
	obj, err := put(ctx, key, body, id.Size, c.crc32c, u.meta(job, id, c.sha256, key))
	if errors.Is(err, storage.ErrExists) {
		body.failed()
		return Result{Key: key}, fmt.Errorf("%w: %w", errTaken, err)
	}
	if err != nil {
		body.failed()
		return Result{}, err
	}
	body.acked()
	u.acked(job, id.Size)
	res.ETag = obj.ETag
	return res, nil
}

// mayBeStored reports whether job's key may already hold an object of size
// bytes, so that it is worth a Stat. Only a new file can be told apart
// without one: any other may have been stored since its folder was listed.
func (u *Uploader) mayBeStored(ctx context.Context, job Job, size int64) bool {
	if !job.New || job.Shared {
		return true
	}
	listedSize, listed, known := u.listed.lookup(ctx, job.Key)
	return !known || (listed && listedSize == size)
}

// abortShrunk aborts the journaled multipart upload of a file now below the
// threshold (it shrank after an interrupted upload): it can never be
// completed, and would be left on the server. A new file has none, unless
// this Uploader began one since the job was made.
func (u *Uploader) abortShrunk(ctx context.Context, job Job) error {
	if _, began := u.begun.Load(job.FileID); job.New && !began {
		return nil
	}
	m, err := u.store.Multipart(ctx, job.FileID)
	if errors.Is(err, journal.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	u.log.Debug().Str("key", m.Key).Msg("file now below the multipart threshold; aborting its upload")
	u.abort(job.FileID, &upload{Multipart: m})
	return nil
}

// content is a file below the threshold, ready to send: a body that can be
// read again from its start, and its digest.
type content struct {
	digest
	body    io.ReadSeeker
	release func() // gives the buffer back once the body is no longer read
}

// read returns the content of f, the file at path whose identity is id. A
// file shorter than id.Size changed: ErrChanged.
func (u *Uploader) read(f *os.File, path string, id journal.Identity) (content, error) {
	if id.Size > u.cfg.PartSize && u.cfg.PartSize > 0 {
		d, err := u.digestOf(f, path, id)
		return content{digest: d, body: &fileBody{io.NewSectionReader(f, 0, id.Size), path, id}, release: func() {}}, err
	}
	buf := fileBuffers.get(id.Size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, id.Size), *buf); err != nil {
		fileBuffers.put(buf)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return content{}, ErrChanged
		}
		return content{}, &PermanentError{Err: fmt.Errorf("read %s: %w", f.Name(), err)}
	}
	d, ok := u.prepared(path, id)
	if !ok {
		d = digestOfBytes(*buf)
	}
	body := newHeldBody(*buf)
	return content{digest: d, body: body, release: func() { body.release(); fileBuffers.put(buf) }}, nil
}

// fileBody is a file sent from disk, not from a buffer. When the file
// changes while it is sent, the server refuses the bytes read (they no
// longer match the CRC32C) and would refuse every try again: so before a
// try sends it again from its start, fileBody stats the file, and a file
// whose identity moved is ErrChanged at once, not retried.
type fileBody struct {
	*io.SectionReader
	path string
	id   journal.Identity
}

func (b *fileBody) Seek(offset int64, whence int) (int64, error) {
	if pos, _ := b.SectionReader.Seek(0, io.SeekCurrent); pos > 0 {
		if fi, err := os.Stat(b.path); err != nil || !journal.IdentityOf(fi).Equal(b.id) {
			return 0, changedWhileSent{}
		}
	}
	return b.SectionReader.Seek(offset, whence)
}

// changedWhileSent is ErrChanged met between two tries of a request: no
// try can succeed, so the storage's retries stop at once.
type changedWhileSent struct{}

func (changedWhileSent) Error() string   { return ErrChanged.Error() }
func (changedWhileSent) Is(t error) bool { return t == ErrChanged }
func (changedWhileSent) Permanent() bool { return true }

// prepared returns the digest Ahead computed for the file at path, when
// the file has kept identity id since.
func (u *Uploader) prepared(path string, id journal.Identity) (digest, bool) {
	v, ok := u.hashed.LoadAndDelete(path)
	if !ok || !v.(hashedFile).id.Equal(id) {
		return digest{}, false
	}
	return v.(hashedFile).digest, true
}

// bufferSet hands out buffers for whole files, kept for the next file
// once given back. Buffers are as many as files in flight (Config.Files of
// the caller), each no bigger than a part; the garbage collector frees
// those left unused.
type bufferSet struct{ pool sync.Pool }

// fileBuffers holds the buffers of small files, and hashBuffers those that
// hashFile reads big files through.
var (
	fileBuffers bufferSet
	hashBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
)

// get returns a buffer of length size.
func (s *bufferSet) get(size int64) *[]byte {
	if b, ok := s.pool.Get().(*[]byte); ok && int64(cap(*b)) >= size {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size, roundUp(size, 64<<10))
	return &b
}

func (s *bufferSet) put(b *[]byte) { s.pool.Put(b) }

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// hashFile returns the digest of the first size bytes of f.
func hashFile(f *os.File, size int64) (digest, error) {
	h, c := sha256.New(), crc32.New(castagnoli)
	buf := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(buf)
	n, err := io.CopyBuffer(io.MultiWriter(h, c), io.NewSectionReader(f, 0, size), *buf)
	if err != nil {
		return digest{}, &PermanentError{Err: fmt.Errorf("read %s: %w", f.Name(), err)}
	}
	if n != size {
		return digest{}, ErrChanged
	}
	return digest{hex.EncodeToString(h.Sum(nil)), crcBase64(c.Sum32())}, nil
}

// digestOfBytes returns the digest of b.
func digestOfBytes(b []byte) digest {
	sum := sha256.Sum256(b)
	return digest{hex.EncodeToString(sum[:]), crcBase64(crc32.Checksum(b, castagnoli))}
}

// crcBase64 spells a CRC32C as S3 does: base64 of its big-endian bytes.
func crcBase64(crc uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc)
	return base64.StdEncoding.EncodeToString(b[:])
}
