package storage

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// A request to a dead storage fails with an error that names the URL; the
// presigned query (the signature) must not reach the error, hence the log.
func TestGranted_ExecuteErrorHoldsNoSignature(t *testing.T) {
	g := &Granted{http: &http.Client{}}
	r := wire.Result{Method: http.MethodGet, Expires: time.Now().Add(time.Minute),
		URL: "http://127.0.0.1:1/photos/1/laptop/a.jpg?X-Amz-Credential=root%2F20260101&X-Amz-Signature=abcdef0123"}
	_, err := g.execute(context.Background(), r, nil, 0, nil)
	if err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	for _, secret := range []string{"X-Amz-Signature", "abcdef0123", "X-Amz-Credential"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds %s", err, secret)
		}
	}
	if want := "http://127.0.0.1:1/photos/1/laptop/a.jpg?…"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to name %s", err, want)
	}
	if errors.Is(err, ErrExpired) || IsPermanent(err) {
		t.Errorf("a refused connection is %v: want a transient error", err)
	}
}
