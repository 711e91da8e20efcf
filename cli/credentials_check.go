package cli

import (
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// errCredentials marks a start check the storage answered by refusing the
// access key or the secret key: retrying cannot help, a new config can.
var errCredentials = errors.New("storage refused the credentials")

// refusedCredentials is the error of a storage request refused for its
// credentials, e.g. "storage refused the credentials: SignatureDoesNotMatch
// (…): check storage.credentials.access_key and the secret key".
func refusedCredentials(err error) error {
	r := minio.ToErrorResponse(err)
	return fmt.Errorf("%w: %s (%s): check storage.credentials.access_key and the secret key", errCredentials, r.Code, r.Message)
}
