package packaging_test

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/nspawntest"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// The packaged account service moved from SQLite to PostgreSQL under a
// real systemd with the commands of docs/deploy.md ("From SQLite to
// PostgreSQL"; runuser for sudo, which the container lacks): the database
// and user made with the guide's SQL, the service stopped, its secret kept,
// migrate-store run as the service's user, the service started again. The
// person's device refreshes its tokens and stores another photo, and the
// database counts both photos.
func TestDeb_AccountsMoveToPostgres(t *testing.T) {
	c := nspawntest.Boot(t)
	db := guideDatabase(t)
	a := &accounts{c: c, s3: miniotest.Start(t), mail: newMailSink(t), port: miniotest.FreePort(t)}
	a.url = "http://127.0.0.1:" + strconv.Itoa(a.port)
	data, err := os.ReadFile(debFor(t, "0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, "/root/new.deb", data, 0o644)
	c.Run(t, "dpkg", "-i", "/root/new.deb")
	a.config = a.fill(c.Run(t, "cat", accountsConfig))
	c.WriteFile(t, accountsConfig, []byte(a.config), 0o640)
	c.WriteFile(t, accountsSecret, []byte(a.s3.SecretKey+"\n"), 0o600)
	c.Run(t, "chown", "cloudkeep-accounts:cloudkeep-accounts", accountsSecret)
	c.Run(t, "systemctl", "enable", "--now", "cloudkeep-accounts")
	api := &apiClient{t: t, url: a.url}
	id := api.signup(a.mail, "alice@example.com", accountsPassword)
	tokens := api.signin(a.mail, id, accountsPassword, "nas")
	a.store(t, api, tokens, id+"/nas/photos/2026/first.jpg")

	c.Run(t, "systemctl", "stop", "cloudkeep-accounts")
	c.Run(t, "install", "-m", "600", "-o", "cloudkeep-accounts", "-g", "cloudkeep-accounts", accountsState+"/secret.key", "/etc/cloudkeep/accounts-secret.key")
	c.Run(t, "install", "-m", "600", "-o", "cloudkeep-accounts", "-g", "cloudkeep-accounts", "/dev/null", "/etc/cloudkeep/pg-password")
	c.WriteFile(t, "/etc/cloudkeep/pg-password", []byte("change-me\n"), 0o600)
	c.WriteFile(t, accountsConfig, []byte(a.config+"store: "+db.without+"&pool_max_conns=20\n"+
		"store_password_file: /etc/cloudkeep/pg-password\nsecret_key_file: /etc/cloudkeep/accounts-secret.key\n"), 0o640)
	out := c.Run(t, "runuser", "-u", "cloudkeep-accounts", "--", "cloudkeep", "account-server", "migrate-store", "--config", accountsConfig)
	for _, table := range []string{"accounts", "devices", "objects", "signing_keys"} {
		if !regexp.MustCompile(`(?m)^  ` + table + ` +1 row\(s\)$`).MatchString(out) {
			t.Errorf("migrate-store did not copy one row into %s:\n%s", table, out)
		}
	}
	c.Run(t, "systemctl", "start", "cloudkeep-accounts")

	var next wire.Tokens
	api.post(wire.PathToken, "", wire.TokenRequest{GrantType: wire.GrantRefresh, ClientID: "cloudkeep-agent", RefreshToken: tokens.RefreshToken}, &next)
	a.store(t, api, next, id+"/nas/photos/2026/second.jpg")
	conn, err := pgx.Connect(context.Background(), db.with)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var objects int
	if err := conn.QueryRow(context.Background(), `SELECT objects FROM usage WHERE account_id = $1`, id).Scan(&objects); err != nil || objects != 2 {
		t.Errorf("usage in PostgreSQL: %d objects (%v), want 2", objects, err)
	}
}

// guideDatabase makes the user and database of docs/deploy.md in the test
// cluster and returns the database's URL without the user's password and
// with it.
func guideDatabase(t *testing.T) (db struct{ without, with string }) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.Shared(t).URL("postgres", true))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, sql := range []string{
		`CREATE ROLE cloudkeep_accounts LOGIN PASSWORD 'change-me'`,
		`CREATE DATABASE cloudkeep OWNER cloudkeep_accounts ENCODING 'UTF8' LOCALE 'C.UTF-8' TEMPLATE template0`,
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, pgtest.Shared(t).URL("postgres", true))
		if err == nil {
			admin.Exec(ctx, `DROP DATABASE cloudkeep WITH (FORCE)`)
			admin.Exec(ctx, `DROP ROLE cloudkeep_accounts`)
			admin.Close(ctx)
		}
	})
	u, err := url.Parse(pgtest.Shared(t).URL("cloudkeep", true))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("cloudkeep_accounts")
	db.without = u.String()
	u.User = url.UserPassword("cloudkeep_accounts", "change-me")
	db.with = u.String()
	return db
}
