package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/account"
)

// An address pgx cannot parse is refused before any connection, as a
// problem with the store setting that says what to fix, and never shows
// the password of the URL, its password= or its sslpassword=.
func TestOpenPostgres_AddressErrors(t *testing.T) {
	const base = "postgres://ck:S3cr3tPW@127.0.0.1:5432/cloudkeep?"
	for _, tc := range []struct{ dsn, want string }{
		{base + "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt", "sslrootcert /nonexistent/ca.crt: no such file"},
		{base + "sslmode=verify-full&sslcert=/nonexistent/c.crt&sslkey=/nonexistent/c.key&sslpassword=S3cr3tPW", "sslkey /nonexistent/c.key: no such file"},
		{base + "sslmode=bogus", "sslmode=bogus is not one of disable, allow, prefer, require, verify-ca or verify-full"},
		{base + "sslmode=disable#frag", "a postgres:// URL takes no #fragment: remove it (a '#' in the password is written %23)"},
		{base + "sslmode=disable&application_name=a%zz", "failed to parse as URL"},
		{"postgres://ck:S3cr3tPW@127.0.0.1:99999/cloudkeep?sslmode=disable", "the port is not a number from 1 to 65535"},
		{base + "sslmode=disable&pool_max_conns=0", "pool_max_conns is too small: want at least 1"},
		{base + "sslmode=disable&pool_max_conns=abc", "pool_max_conns=abc is not a whole number"},
		{base + "sslmode=disable&connect_timeout=x", "connect_timeout=x is not a whole number"},
		{"postgres://ck@127.0.0.1:5432/cloudkeep?password=S3cr3tPW&sslmode=bogus", "sslmode=bogus is not one of"},
		{"postgres://ck:S3cr%zz3tPW@127.0.0.1:5432/cloudkeep", "failed to parse as URL (invalid percent-encoded token in password)"},
		{"postgres://ck:S3cr 3tPW@127.0.0.1:5432/cloudkeep", "failed to parse as URL (unexpected spaces found in password"},
	} {
		_, err := account.OpenPostgres(context.Background(), tc.dsn, "")
		var ce *account.StoreConfigError
		if !errors.As(err, &ce) || ce.Key != "store" || !strings.HasPrefix(ce.Err.Error(), tc.want) {
			t.Errorf("%s: got %v, want store: %s", tc.dsn, err, tc.want)
		}
		for _, pw := range []string{"S3cr3tPW", "S3cr%zz3tPW", "S3cr 3tPW", "3tPW"} {
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("%s: the error shows the password: %v", tc.dsn, err)
			}
		}
	}
}
