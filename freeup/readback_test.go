package freeup

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/storage"
)

// rotten is a storage whose object's recorded checksum is the file's but
// whose bytes rotted on its disk since.
type rotten struct {
	storage.Storage
	body []byte
}

func (r rotten) Get(context.Context, string, int64) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(r.body)), nil
}

// --read-back finds bytes the recorded checksum cannot: those rotted on
// the storage's disk after it got them.
func TestProver_ReadBack(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "a.jpg")
	content := []byte("the photo's bytes")
	if err := os.WriteFile(abs, content, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := digestFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	it := &Item{Abs: abs}
	it.Key, it.Size, it.SHA256 = "k/a.jpg", int64(len(content)), d.sha256
	o := storage.Object{Size: it.Size, FullObject: true, CRC32C: d.crc32c, Meta: storage.Meta{SHA256: d.sha256}}
	st := rotten{body: flip(content)}
	for _, tc := range []struct {
		readBack bool
		want     Reason
	}{{false, ""}, {true, RemoteDiffers}} {
		p := &Prover{Storage: st, ReadBack: tc.readBack}
		if got, detail := p.compare(context.Background(), it, o, d); got != tc.want {
			t.Errorf("ReadBack %v: %q (%s), want %q", tc.readBack, got, detail, tc.want)
		}
	}
}

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)/2] ^= 0xff
	return out
}
