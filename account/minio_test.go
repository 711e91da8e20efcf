package account

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cloudkeep/cloudkeep/internal/minioadmin"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// startMinIOWithOIDC starts MinIO with this service as its OpenID provider
// and the per-user policy in place.
func startMinIOWithOIDC(t *testing.T, e *env) *miniotest.Server {
	srv := miniotest.Start(t, miniotest.Options{Env: []string{
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + e.url + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=cloudkeep-agent",
		"MINIO_IDENTITY_OPENID_CLAIM_NAME=policy",
		"MINIO_IDENTITY_OPENID_SCOPES=openid",
	}})
	admin := &minioadmin.Client{Endpoint: "http://" + srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	if err := admin.AddPolicy(context.Background(), "cloudkeep-user", minioadmin.UserPolicy(srv.Bucket)); err != nil {
		t.Fatal(err)
	}
	return srv
}

func stsClient(t *testing.T, srv *miniotest.Server, token string) (*minio.Client, error) {
	creds, err := credentials.NewSTSWebIdentity("http://"+srv.Endpoint, func() (*credentials.WebIdentityToken, error) {
		return &credentials.WebIdentityToken{Token: token}, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := creds.GetWithContext(nil); err != nil {
		return nil, err
	}
	return minio.New(srv.Endpoint, &minio.Options{Creds: creds})
}

func TestMinIO_STSWithServiceTokens(t *testing.T) {
	e := newEnv(t)
	srv := startMinIOWithOIDC(t, e)
	alice := e.signup("alice@example.com", "goodpass1")
	bob := e.signup("bob@example.com", "goodpass1")
	tok := e.connect(alice, "goodpass1", "alice@example.com", "laptop")
	ctx := context.Background()

	client, err := stsClient(t, srv, tok["access_token"].(string))
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	put := func(key string) error {
		_, err := client.PutObject(ctx, srv.Bucket, key, bytes.NewReader([]byte("photo")), 5, minio.PutObjectOptions{})
		return err
	}
	if err := put(alice + "/laptop/a.jpg"); err != nil {
		t.Errorf("alice writes her prefix: %v", err)
	}
	if err := put(bob + "/laptop/b.jpg"); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("alice writes bob's prefix: got %v, want AccessDenied", err)
	}
	// Bob's own file, put there with the admin keys.
	bobKey := bob + "/laptop/own.jpg"
	if _, err := srv.Client.PutObject(ctx, srv.Bucket, bobKey, bytes.NewReader([]byte("bob")), 3, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.StatObject(ctx, srv.Bucket, bobKey, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("alice reads bob's file: got %v, want AccessDenied", err)
	}
	if err := client.RemoveObject(ctx, srv.Bucket, bobKey, minio.RemoveObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("alice deletes bob's file: got %v, want AccessDenied", err)
	}
	var listed []string
	for o := range client.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: alice + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list own prefix: %v", o.Err)
		}
		listed = append(listed, o.Key)
	}
	if len(listed) != 1 {
		t.Errorf("listed %v", listed)
	}
	if o := <-client.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: bob + "/", Recursive: true}); minio.ToErrorResponse(o.Err).Code != "AccessDenied" {
		t.Errorf("alice lists bob's prefix: got %+v, want AccessDenied", o)
	}
	if up := <-client.ListIncompleteUploads(ctx, srv.Bucket, "", true); minio.ToErrorResponse(up.Err).Code != "AccessDenied" {
		t.Errorf("alice lists every incomplete upload in the bucket: got %+v, want AccessDenied", up)
	}
}

func TestMinIO_RefusesExpiredAndForgedTokens(t *testing.T) {
	e := newEnv(t)
	srv := startMinIOWithOIDC(t, e)
	alice := e.signup("alice@example.com", "goodpass1")
	dev := Device{ID: "d1", AccountID: alice, Name: "laptop", ClientID: "cloudkeep-agent"}

	e.clock.advance(-20 * time.Minute) // signed 20 minutes ago: expired 5 minutes ago
	expired, err := e.svc.AccessToken(dev)
	e.clock.advance(20 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stsClient(t, srv, expired); err == nil {
		t.Error("MinIO accepted an expired token")
	}

	// The same claims signed by a key MinIO has never seen, under a known kid.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := e.svc.keys.JWKS().Keys[0].KeyID
	sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	now := time.Now()
	forged, _ := jwt.Signed(sig).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.url, Subject: alice,
		Audience: jwt.Audience{"cloudkeep-agent"}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute))},
		AuthorizedParty: "cloudkeep-agent", Policy: "consoleAdmin"}).Serialize()
	if _, err := stsClient(t, srv, forged); err == nil {
		t.Error("MinIO accepted a forged token")
	}
	// A real token still works.
	good, _ := e.svc.AccessToken(dev)
	if _, err := stsClient(t, srv, good); err != nil {
		t.Errorf("MinIO refused a valid token: %v", err)
	}
}
