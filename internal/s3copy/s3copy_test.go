package s3copy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/s3copy"
	"github.com/cloudkeep/cloudkeep/internal/versitygwtest"
)

const MiB = 1 << 20

// TestCopy_Multipart copies objects above MaxSize (lowered to 6 MiB) part
// by part on both servers: the copy has the source's bytes, the metadata
// and content type asked for, and was not made by one CopyObject (its ETag
// is a multipart one).
func TestCopy_Multipart(t *testing.T) {
	for _, server := range []string{"minio", "versitygw"} {
		t.Run(server, func(t *testing.T) {
			client, bucket := start(t, server)
			defer func(old int64) { s3copy.MaxSize = old }(s3copy.MaxSize)
			s3copy.MaxSize = 6 * MiB
			for _, size := range []int64{6 * MiB, 11 * MiB, 20*MiB + 3} {
				copyAndCheck(t, client, bucket, size)
			}
		})
	}
}

func start(t *testing.T, server string) (*minio.Client, string) {
	if server == "minio" {
		s := miniotest.Start(t)
		return s.Client, s.Bucket
	}
	s := versitygwtest.Start(t)
	return s.Client, s.Bucket
}

func copyAndCheck(t *testing.T, client *minio.Client, bucket string, size int64) {
	t.Helper()
	ctx := context.Background()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(size)}).Read(data)
	sum := sha256.Sum256(data)
	src := "alice/laptop/pictures/src.mp4"
	_, err := client.PutObject(ctx, bucket, src, bytes.NewReader(data), size,
		minio.PutObjectOptions{UserMetadata: map[string]string{"Device": "old"}, ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	dstKey := "alice/laptop/pictures/renamed.mp4"
	meta := map[string]string{"Sha256": hex.EncodeToString(sum[:]), "Device": "laptop"}
	dst := minio.CopyDestOptions{Bucket: bucket, Object: dstKey, ReplaceMetadata: true, UserMetadata: meta, ContentType: "video/mp4"}
	if _, err := s3copy.Copy(ctx, client, size, dst, minio.CopySrcOptions{Bucket: bucket, Object: src}); err != nil {
		t.Fatalf("copy of %d bytes: %v", size, err)
	}
	obj, err := client.GetObject(ctx, bucket, dstKey, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Sum(nil); n != size || !bytes.Equal(got, sum[:]) {
		t.Errorf("copy of %d bytes: got %d bytes sha256 %x, want %x", size, n, got, sum)
	}
	info, err := client.StatObject(ctx, bucket, dstKey, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.UserMetadata["Sha256"] != meta["Sha256"] || info.UserMetadata["Device"] != "laptop" || info.ContentType != "video/mp4" {
		t.Errorf("copy of %d bytes: metadata %v, content type %q; want %v, video/mp4", size, info.UserMetadata, info.ContentType, meta)
	}
	multipart := bytes.ContainsRune([]byte(info.ETag), '-')
	if want := size > s3copy.MaxSize; multipart != want {
		t.Errorf("copy of %d bytes: ETag %s, multipart %v, want %v", size, info.ETag, multipart, want)
	}
}
