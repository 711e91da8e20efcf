package uploader

import (
	"context"
	"os"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Ahead is told the jobs that come next. When the storage prepares Puts
// ahead (storage.Ahead: account mode), the files that go in a single PUT
// are hashed now and their Puts prepared in one call; their uploads then
// use these digests, unless the file changed since, so no file is hashed
// twice. Files that cannot be read are left to their upload to report.
func (u *Uploader) Ahead(ctx context.Context, jobs []Job) {
	a, ok := storage.AheadOf(u.st)
	if !ok {
		return
	}
	var intents []storage.Intent
	for _, job := range jobs {
		if in, ok := u.intent(job); ok {
			intents = append(intents, in)
		}
	}
	if len(intents) > 0 && ctx.Err() == nil {
		a.PutAhead(ctx, intents)
	}
}

// intent hashes the file of job, keeps its digest for the upload, and
// returns the Put it will be sent with; false for a file that is not sent
// in a single PUT or cannot be read.
func (u *Uploader) intent(job Job) (storage.Intent, bool) {
	f, err := os.Open(job.Path)
	if err != nil {
		return storage.Intent{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return storage.Intent{}, false
	}
	id := journal.IdentityOf(fi)
	if id.Size == 0 || id.Size >= u.cfg.Threshold {
		return storage.Intent{}, false
	}
	d, err := hashFile(f, id.Size)
	if err != nil {
		return storage.Intent{}, false
	}
	u.hashed.Store(job.Path, hashedFile{id: id, digest: d})
	return storage.Intent{Key: job.Key, Size: id.Size, CRC32C: d.crc32c, Meta: u.meta(job, id, d.sha256, job.Key), New: job.Shared}, true
}

// hashedFile is a digest Ahead computed, with the identity the file had.
type hashedFile struct {
	id     journal.Identity
	digest digest
}

// digestOf returns the digest of f, the file at path whose identity is id:
// the one Ahead computed when the file has kept that identity, else a new
// one.
func (u *Uploader) digestOf(f *os.File, path string, id journal.Identity) (digest, error) {
	if v, ok := u.hashed.LoadAndDelete(path); ok && v.(hashedFile).id.Equal(id) {
		return v.(hashedFile).digest, nil
	}
	return hashFile(f, id.Size)
}
