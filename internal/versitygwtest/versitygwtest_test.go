package versitygwtest_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/versitygwtest"
)

func TestStart_PutAndGet(t *testing.T) {
	s := versitygwtest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.PutObject(ctx, s.Bucket, "a/b.jpg", bytes.NewReader([]byte("photo")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	obj, err := s.Client.GetObject(ctx, s.Bucket, "a/b.jpg", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, err := io.ReadAll(obj); err != nil || string(b) != "photo" {
		t.Errorf("got %q, %v; want photo", b, err)
	}
}
