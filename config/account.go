package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// AccountServer is the account service's configuration file.
type AccountServer struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	StateDir  string `yaml:"state_dir"`
	// Store is the accounts database: empty or sqlite: (accounts.db in
	// StateDir), sqlite:PATH, or a postgres:// URL.
	Store             string `yaml:"store"`
	StorePasswordFile string `yaml:"store_password_file"`
	// SecretKeyFile holds the service secret every replica shares; empty:
	// secret.key in StateDir.
	SecretKeyFile  string         `yaml:"secret_key_file"`
	ClientID       string         `yaml:"client_id"`
	MinAge         int            `yaml:"min_age"`
	MinAgeByRegion map[string]int `yaml:"min_age_by_region"`
	TrustedProxies []string       `yaml:"trusted_proxies"` // CIDRs of load balancers in front
	Tokens         Tokens         `yaml:"tokens"`
	Storage        GateStorage    `yaml:"storage"`
	Quota          Quota          `yaml:"quota"`
	Delivery       Delivery       `yaml:"delivery"`
	Log            Log            `yaml:"log"`

	source source
}

// Tokens sets the lifetimes of issued tokens.
type Tokens struct {
	AccessTTL  Duration `yaml:"access_ttl"`
	RefreshTTL Duration `yaml:"refresh_ttl"`
}

// Delivery says how codes reach people.
type Delivery struct {
	Email EmailDelivery `yaml:"email"`
	SMS   SMSDelivery   `yaml:"sms"`
}

// EmailDelivery sends codes by email.
type EmailDelivery struct {
	SMTP SMTP `yaml:"smtp"`
}

// SMTP is an outgoing mail server.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
	StartTLS     bool   `yaml:"starttls"`
}

// SMSDelivery sends codes by text message through an HTTP gateway.
type SMSDelivery struct {
	Webhook Webhook `yaml:"webhook"`
}

// Webhook is an SMS gateway: it receives POST {"to": …, "text": …}.
type Webhook struct {
	URL            string `yaml:"url"`
	AuthHeaderFile string `yaml:"auth_header_file"` // a file holding the Authorization header's value
}

// LoadAccount reads the account service's config file.
func LoadAccount(path string) (*AccountServer, error) {
	data, err := readFile(path, "cloudkeep account-server --write-config "+path)
	if err != nil {
		return nil, err
	}
	return ParseAccount(path, data)
}

// ParseAccount is LoadAccount for data already read from the named file.
func ParseAccount(file string, data []byte) (*AccountServer, error) {
	c := &AccountServer{}
	src, err := decodeInto(file, data, c)
	if err != nil {
		return nil, err
	}
	c.source = src
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *AccountServer) setDefaults() {
	setIfZero(&c.Listen, "127.0.0.1:8080")
	setIfZero(&c.PublicURL, "http://"+c.Listen)
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.StateDir == "" {
		c.StateDir = defaultStateDir()
		if strings.HasSuffix(c.StateDir, "cloudkeep") {
			c.StateDir += "-accounts"
		}
	}
	c.StateDir = ExpandHome(c.StateDir)
	c.StorePasswordFile = ExpandHome(c.StorePasswordFile)
	c.SecretKeyFile = ExpandHome(c.SecretKeyFile)
	setIfZero(&c.ClientID, "cloudkeep-agent")
	setIfZero(&c.MinAge, 13)
	setIfZero(&c.Tokens.AccessTTL, Duration(15*time.Minute))
	setIfZero(&c.Tokens.RefreshTTL, Duration(90*24*time.Hour))
	c.storageDefaults()
	setIfZero(&c.Delivery.Email.SMTP.Port, 587)
	c.Delivery.Email.SMTP.PasswordFile = ExpandHome(c.Delivery.Email.SMTP.PasswordFile)
	c.Delivery.SMS.Webhook.AuthHeaderFile = ExpandHome(c.Delivery.SMS.Webhook.AuthHeaderFile)
	setIfZero(&c.Log.Level, "info")
	setIfZero(&c.Log.Format, "auto")
}

var regionCode = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate checks every key and returns all problems, joined, in file order.
func (c *AccountServer) Validate() error {
	v := &validator{src: &c.source}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		v.add("listen", "%q is not host:port", c.Listen)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add("public_url", "%q is not an http(s) URL", c.PublicURL)
	}
	c.validateStore(v)
	v.between("min_age", c.MinAge, 0, 120)
	for region, age := range c.MinAgeByRegion {
		key := "min_age_by_region." + region
		if !regionCode.MatchString(region) {
			v.add(key, "%q is not a two-letter region code such as DE or KR", region)
		}
		v.between(key, age, 0, 120)
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a network such as 10.0.0.0/8", p)
		}
	}
	v.atLeast("tokens.access_ttl", c.Tokens.AccessTTL, 10*time.Second)
	v.atLeast("tokens.refresh_ttl", c.Tokens.RefreshTTL, time.Hour)
	if smtp := c.Delivery.Email.SMTP; smtp.Host != "" {
		v.between("delivery.email.smtp.port", smtp.Port, 1, 65535)
		if _, err := mail.ParseAddress(smtp.From); err != nil {
			v.add("delivery.email.smtp.from", "%q is not an email address", smtp.From)
		}
	}
	if hook := c.Delivery.SMS.Webhook.URL; hook != "" {
		if u, err := url.Parse(hook); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			v.add("delivery.sms.webhook.url", "%q is not an http(s) URL", hook)
		}
	}
	v.secretFile("delivery.email.smtp.password_file", c.Delivery.Email.SMTP.PasswordFile)
	v.secretFile("delivery.sms.webhook.auth_header_file", c.Delivery.SMS.Webhook.AuthHeaderFile)
	c.validateStorage(v)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "auto", "console", "json")
	return v.err()
}

// validateStore checks the store's address without ever printing it: it
// may hold a password. Only a scheme made of letters is shown.
func (c *AccountServer) validateStore(v *validator) {
	postgres := strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://")
	if c.Store != "" && !postgres && !strings.HasPrefix(c.Store, "sqlite:") {
		v.add("store", "%s", storeNotAURL(c.Store))
	}
	if postgres {
		if strings.Contains(c.Store, "#") {
			v.add("store", "a postgres:// URL takes no #fragment: remove it (a '#' in the password is written %%23)")
		} else if _, err := url.Parse(c.Store); err != nil {
			v.add("store", "not a URL: postgres://user@host:5432/database?sslmode=… (in the password write %%40 for '@', %%3A for ':', %%2F for '/', or put it in store_password_file)")
		}
	}
	if c.StorePasswordFile != "" && !postgres {
		v.add("store_password_file", "set, but store is not a postgres:// URL")
	}
	v.secretFile("store_password_file", c.StorePasswordFile)
	if postgres && c.SecretKeyFile == "" {
		v.add("secret_key_file", "required when store is a postgres:// URL: every replica must use the same secret (make one with `(umask 077; head -c 32 /dev/urandom > /etc/cloudkeep/accounts-secret.key)` and copy it to each replica, mode 0600)")
	}
	v.secretFile("secret_key_file", c.SecretKeyFile)
}

// storeAddress is what a store must look like.
const storeAddress = "sqlite:PATH or postgres://user@host:5432/database?sslmode=…"

// plainScheme matches a URL scheme that can be shown: it holds no password.
var plainScheme = regexp.MustCompile(`^[A-Za-z]{1,20}$`)

// storeNotAURL says why store is neither sqlite: nor postgres://, showing
// of it at most a scheme made of letters.
func storeNotAURL(store string) string {
	scheme, _, found := strings.Cut(store, ":")
	switch {
	case found && plainScheme.MatchString(scheme):
		return fmt.Sprintf("want %s, got %q", storeAddress, scheme+":…")
	case strings.Contains(store, "="):
		return "a key=value string (not shown: it may hold a password) is not accepted: write it as a URL, " +
			"postgres://USER@HOST:PORT/DATABASE?sslmode=…, and put the password in store_password_file"
	}
	return "want " + storeAddress + ", got something else (not shown: it may hold a password)"
}

// RequireDelivery reports an error unless some way to send codes is set up.
// The error names the file, and the line of delivery.email.smtp.host when
// the file has it.
func (c *AccountServer) RequireDelivery() error {
	if c.Delivery.Email.SMTP.Host == "" && c.Delivery.SMS.Webhook.URL == "" {
		return c.source.errorf("delivery.email.smtp.host", "no way to send codes: fill in delivery.email.smtp (host and from) or delivery.sms.webhook.url (or run with --dev to write codes to outbox.log)")
	}
	return nil
}

// File returns the path the configuration was read from.
func (c *AccountServer) File() string { return c.source.file }

// KeyError returns err as a problem with key, located in the file (file,
// line, key) like the errors of LoadAccount.
func (c *AccountServer) KeyError(key string, err error) error {
	return c.source.errorf(key, "%v", err)
}

// ExampleAccount is the commented account service configuration.
const ExampleAccount = `# cloudkeep account service configuration.
listen: 127.0.0.1:8080
# The address people and devices reach this service at; it is also the
# issuer of its tokens. Unset, it is http:// and the listen address: set
# it when the service is reached through another name or behind TLS.
# public_url: https://accounts.example.com
# state_dir: /var/lib/cloudkeep-accounts   # accounts database and signing keys
# The accounts database: SQLite in state_dir unless set. Several replicas
# share one PostgreSQL database (pool size in the URL: pool_max_conns=20).
# store: postgres://cloudkeep@db.example.com:5432/cloudkeep?sslmode=verify-full
# store_password_file: /etc/cloudkeep/pg-password   # mode 0600
# The service secret: it keys the hashes of codes and tokens and encrypts
# the signing keys. Unset, it is secret.key in state_dir; replicas on
# PostgreSQL must all use one file: (umask 077; head -c 32 /dev/urandom > FILE).
# secret_key_file: /etc/cloudkeep/accounts-secret.key   # mode 0600
client_id: cloudkeep-agent
# trusted_proxies: [10.0.0.0/8]   # load balancers whose X-Forwarded-For is believed
min_age: 13
# min_age_by_region: {KR: 14, DE: 16}
tokens:
  access_ttl: 15m
  refresh_ttl: 2160h
# The storage every account's files go to. The service holds its keys;
# devices get presigned requests valid for grant_ttl, only under
# <bucket>/<account ID>/. Leave endpoint empty to run without storage.
storage:
  endpoint: ""              # host[:port] of the S3 server, e.g. 127.0.0.1:9000
  bucket: ""                # e.g. photos
  region: ""                # empty: ask the server
  secure: false             # true for https
  access_key: ""
  secret_key_file: ""       # a file holding the secret key (mode 0600)
  grant_ttl: 60s            # 1s to 60s
quota:
  default: 0                # per account, e.g. 50GiB; 0 = no limit
delivery:
  email:
    smtp:
      host: ""              # e.g. smtp.example.com
      port: 587
      username: ""
      password_file: ""     # a file holding the SMTP password (mode 0600)
      from: ""              # e.g. cloudkeep <no-reply@example.com>
      starttls: true
  sms:
    webhook:
      url: ""               # receives POST {"to": "+4915112345678", "text": "..."}
      auth_header_file: ""  # a file holding the Authorization header value
log:
  level: info
`
