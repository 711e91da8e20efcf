package storage

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// An S3 error answer means the same whether minio-go read it (static mode)
// or a presigned request did (account mode): the code decides, the status
// only when the code is unknown or missing (HEAD answers have no body).
func TestClassify(t *testing.T) {
	const (
		transient = "transient"
		permanent = "permanent"
		notFound  = "not found"
		noUpload  = "no such upload"
		expired   = "expired"
	)
	for _, tc := range []struct {
		status int
		code   string
		want   string
	}{
		{400, "RequestTimeout", transient},
		{400, "IncompleteBody", transient},
		{400, "ExpiredToken", expired},
		{400, "InvalidArgument", permanent},
		{400, "InvalidRequest", permanent},
		{400, "BadDigest", transient},
		{400, "XAmzContentChecksumMismatch", transient},
		{400, "EntityTooSmall", permanent},
		{400, "", permanent},
		{403, "AccessDenied", permanent},
		{403, "InvalidAccessKeyId", permanent},
		{403, "SignatureDoesNotMatch", permanent},
		{403, "RequestTimeTooSkewed", permanent},
		{403, "RequestExpired", expired},
		{403, "", permanent},
		{404, "NoSuchBucket", permanent},
		{404, "NoSuchKey", notFound},
		{404, "NoSuchUpload", noUpload},
		{404, "", notFound},
		{408, "", transient},
		{409, "OperationAborted", transient},
		{409, "BucketAlreadyOwnedByYou", permanent},
		{412, "PreconditionFailed", notFound},
		{416, "InvalidRange", permanent},
		{429, "", transient},
		{500, "InternalError", transient},
		{500, "", transient},
		{501, "NotImplemented", permanent},
		{503, "SlowDown", transient},
		{503, "ServiceUnavailable", transient},
		{503, "XMinioServerNotInitialized", transient},
		{503, "", transient},
	} {
		name := fmt.Sprintf("%d %s", tc.status, tc.code)
		t.Run("direct "+name, func(t *testing.T) {
			err := classify(minio.ErrorResponse{StatusCode: tc.status, Code: tc.code, Message: "m"})
			if got := kindOf(err); got != tc.want {
				t.Errorf("got %s (%v), want %s", got, err, tc.want)
			}
		})
		t.Run("presigned "+name, func(t *testing.T) {
			body := ""
			if tc.code != "" {
				body = "<Error><Code>" + tc.code + "</Code><Message>m</Message></Error>"
			}
			resp := &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(body))}
			err := s3Error(resp, time.Now().Add(time.Hour))
			if got := kindOf(err); got != tc.want {
				t.Errorf("got %s (%v), want %s", got, err, tc.want)
			}
		})
	}
}

// kindOf names how the rest of the program sees err.
func kindOf(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "not found"
	case errors.Is(err, ErrNoSuchUpload):
		return "no such upload"
	case errors.Is(err, ErrExpired):
		return "expired"
	case IsPermanent(err):
		return "permanent"
	}
	return "transient"
}

// A presigned URL refused at or after its expiry is an expired grant to
// ask again for, whatever the code.
func TestS3Error_ExpiredURL(t *testing.T) {
	body := "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		expires time.Time
	}{
		{"expired message", 403, body, time.Now().Add(time.Hour)},
		{"403 once the URL ran out", 403, "", time.Now().Add(-time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(tc.body))}
			if err := s3Error(resp, tc.expires); !errors.Is(err, ErrExpired) {
				t.Errorf("got %v, want ErrExpired", err)
			}
		})
	}
}
