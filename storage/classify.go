package storage

import (
	"fmt"
	"net/http"
	"strings"
)

// s3Class is what an S3 error answer means to the caller.
type s3Class int

const (
	s3Transient    s3Class = iota // trying again may help
	s3Permanent                   // trying again cannot help
	s3NotFound                    // ErrNotFound
	s3NoSuchUpload                // ErrNoSuchUpload
	s3Expired                     // ErrExpired: ask for a grant or credential again
)

// s3Codes classifies the S3 error codes whose meaning does not follow from
// their status: RequestTimeout and IncompleteBody come with 400 but are a
// slow or cut connection, OperationAborted is a 409 that goes away, and
// NotImplemented is a 501 that does not.
var s3Codes = map[string]s3Class{
	"RequestTimeout":             s3Transient,
	"IncompleteBody":             s3Transient,
	"RequestError":               s3Transient,
	"OperationAborted":           s3Transient,
	"InternalError":              s3Transient,
	"ServiceUnavailable":         s3Transient,
	"SlowDown":                   s3Transient,
	"SlowDownRead":               s3Transient,
	"SlowDownWrite":              s3Transient,
	"Throttling":                 s3Transient,
	"ThrottlingException":        s3Transient,
	"RequestLimitExceeded":       s3Transient,
	"RequestThrottled":           s3Transient,
	"BandwidthLimitExceeded":     s3Transient,
	"PriorRequestNotComplete":    s3Transient,
	"XMinioServerNotInitialized": s3Transient,
	// A body that does not match its checksum changed on the way: the
	// uploader sends bytes it holds in a buffer (a small file, a part), so
	// sending them again may succeed.
	"BadDigest":                   s3Transient,
	"XAmzContentChecksumMismatch": s3Transient,
	"XAmzContentSHA256Mismatch":   s3Transient,

	"NoSuchKey":          s3NotFound,
	"NotFound":           s3NotFound,
	"PreconditionFailed": s3NotFound, // the source changed under a copy

	"NoSuchUpload": s3NoSuchUpload,

	"ExpiredToken":   s3Expired,
	"InvalidTokenId": s3Expired,
	"InvalidToken":   s3Expired,
	"RequestExpired": s3Expired,

	"AccessDenied":            s3Permanent,
	"NoSuchBucket":            s3Permanent,
	"InvalidAccessKeyId":      s3Permanent,
	"SignatureDoesNotMatch":   s3Permanent,
	"InvalidBucketName":       s3Permanent,
	"InvalidArgument":         s3Permanent,
	"InvalidRequest":          s3Permanent,
	"EntityTooSmall":          s3Permanent,
	"EntityTooLarge":          s3Permanent,
	"InvalidPart":             s3Permanent,
	"InvalidPartOrder":        s3Permanent,
	"InvalidRange":            s3Permanent,
	"InvalidDigest":           s3Permanent,
	"XMinioInvalidObjectName": s3Permanent,
	"NotImplemented":          s3Permanent,
}

// classifyS3 tells what an S3 error answer means, by its code first and
// by its status when the code is unknown or missing (a HEAD answer has no
// body): 5xx, 408 and 429 may go away, a 404 is a missing object, any
// other 4xx is permanent. A message that says the request expired makes
// an otherwise permanent answer an expired one. A status of 0 (no answer at all: a network
// error) is transient.
func classifyS3(status int, code, message string) s3Class {
	c, known := s3Codes[code]
	switch {
	case known && c != s3Permanent:
		return c
	case strings.Contains(message, "expired"): // versitygw: AccessDenied, "Request has expired"
		return s3Expired
	case known:
		return c
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return s3Transient
	case status == http.StatusNotFound && code == "":
		return s3NotFound
	case status >= 400:
		return s3Permanent
	}
	return s3Transient
}

// wrap turns err, an error answer of class c, into this package's errors.
func (c s3Class) wrap(err error) error {
	switch c {
	case s3Permanent:
		return &PermanentError{err}
	case s3NotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case s3NoSuchUpload:
		return fmt.Errorf("%w: %w", ErrNoSuchUpload, err)
	case s3Expired:
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return err
}
