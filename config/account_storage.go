package config

import (
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// GateStorage is the storage the account service guards: it holds the keys,
// devices get presigned requests (the storage gate).
type GateStorage struct {
	Endpoint      string   `yaml:"endpoint"`
	Bucket        string   `yaml:"bucket"`
	Region        string   `yaml:"region"`
	Secure        bool     `yaml:"secure"`
	AccessKey     string   `yaml:"access_key"`
	SecretKeyFile string   `yaml:"secret_key_file"` // a file holding the secret key, mode 0600
	GrantTTL      Duration `yaml:"grant_ttl"`       // lifetime of presigned requests
}

// Quota limits what each account may store.
type Quota struct {
	Default Size `yaml:"default"` // bytes per account; 0 = no limit
}

// Grant lifetimes the service accepts.
const (
	DefaultGrantTTL = 60 * time.Second
	MinGrantTTL     = time.Second
	MaxGrantTTL     = 60 * time.Second
)

// Configured reports whether the storage gate is set up.
func (g GateStorage) Configured() bool { return g.Endpoint != "" }

func (c *AccountServer) storageDefaults() {
	setIfZero(&c.Storage.GrantTTL, Duration(DefaultGrantTTL))
	c.Storage.SecretKeyFile = ExpandHome(c.Storage.SecretKeyFile)
}

// validateStorage checks the storage keys: all of endpoint, bucket,
// access_key and secret_key_file, or none (no storage gate).
func (c *AccountServer) validateStorage(v *validator) {
	s := c.Storage
	set := s.Endpoint != "" || s.Bucket != "" || s.AccessKey != "" || s.SecretKeyFile != ""
	if set {
		for _, k := range []struct{ key, val, hint string }{
			{"storage.endpoint", s.Endpoint, "host[:port] of the S3 server, e.g. 127.0.0.1:9000"},
			{"storage.bucket", s.Bucket, "the bucket that holds every account's files"},
			{"storage.access_key", s.AccessKey, "the access key the service signs with"},
			{"storage.secret_key_file", s.SecretKeyFile, "a file (mode 0600) holding the secret key"},
		} {
			if k.val == "" {
				v.add(k.key, "required once storage is configured: %s", k.hint)
			}
		}
	}
	if strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/") {
		v.add("storage.endpoint", "%q must be host[:port] without a scheme or path; set storage.secure for https", s.Endpoint)
	}
	if s.Bucket != "" {
		if err := s3utils.CheckValidBucketNameStrict(s.Bucket); err != nil {
			v.add("storage.bucket", "%q is not a valid bucket name: %v", s.Bucket, err)
		}
	}
	if d := time.Duration(s.GrantTTL); d < MinGrantTTL || d > MaxGrantTTL {
		v.add("storage.grant_ttl", "%s is out of range %s to %s", d, MinGrantTTL, MaxGrantTTL)
	}
	v.secretFile("storage.secret_key_file", s.SecretKeyFile)
	if c.Quota.Default < 0 {
		v.add("quota.default", "must not be negative")
	}
}

// StorageSecretKey reads storage.secret_key_file. It refuses a file that
// group or others can read, naming the file and the fix.
func (c *AccountServer) StorageSecretKey() (string, error) {
	key, err := ReadSecretFile(c.Storage.SecretKeyFile)
	if err != nil {
		return "", c.source.errorf("storage.secret_key_file", "%v", err)
	}
	return key, nil
}
