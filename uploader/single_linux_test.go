package uploader_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// readSoFar returns the bytes this process has read with read(2) and
// pread(2) so far (rchar in /proc/self/io): files, sockets, everything.
func readSoFar(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no rchar in /proc/self/io")
	return 0
}

// A small file is read once: it is hashed and sent from the same buffer.
// The uploader talks to MinIO directly, so that no proxy in this process
// reads the request again.
func TestUploader_SmallFileIsReadOnce(t *testing.T) {
	e := newEnv(t)
	const size = 4 * MiB
	path, sum := e.file(t, "once.jpg", size, 21)
	key := "alice/laptop/pictures/once.jpg"
	b := storage.Backoff{Attempts: 3, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond}
	st := storage.WithRetry(storage.NewDirect(e.srv.Client, e.srv.Bucket), b, zerolog.Nop(), nil)
	up := uploader.New(st, e.journal, uploader.Config{Device: "laptop", PartSize: 5 * MiB, Threshold: 5 * MiB, PartsInFlight: 4}, zerolog.Nop())
	job := uploader.Job{FileID: e.track(t, path), Path: path, Key: key, New: true}
	before := readSoFar(t)
	if _, err := up.Upload(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	read := readSoFar(t) - before
	e.assertObject(t, key, sum, size)
	if read < size || read > size+size/4 {
		t.Errorf("the upload read %d bytes for a file of %d, want it read once", read, size)
	}
}
