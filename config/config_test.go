package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/media"
)

// valid is a complete config; cases below change one line of it.
const valid = `device:
  name: laptop
storage:
  endpoint: 127.0.0.1:9000
  secure: false
  bucket: photos
  user: alice
  credentials:
    mode: static
    access_key: AKIAEXAMPLE
    secret_key: s3cr3t-value
  part_size: 16MiB
  multipart_threshold: 32MiB
  concurrency:
    files: 2
    parts: 8
  bandwidth_limit: 20MiB/s
watch:
  - path: /srv/photos
    name: pictures
media:
  kinds: [photo, video]
  exclude: ["**/cache/**"]
state_dir: /var/lib/cloudkeep
log:
  level: info
`

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad_Valid(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Storage
	if s.PartSize != 16<<20 || s.MultipartThreshold != 32<<20 || s.BandwidthLimit != 20<<20 {
		t.Errorf("sizes: got %d %d %d", s.PartSize, s.MultipartThreshold, s.BandwidthLimit)
	}
	if s.KeyTemplate != config.DefaultKeyTemplate || s.Concurrency.Parts != 8 {
		t.Errorf("got key template %q, parts %d", s.KeyTemplate, s.Concurrency.Parts)
	}
	if c.Watch[0].Name != "pictures" || c.Log.Format != "auto" {
		t.Errorf("got watch %+v, log %+v", c.Watch, c.Log)
	}
}

func TestLoad_Defaults(t *testing.T) {
	clearEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	c, err := config.Load(write(t, `storage:
  endpoint: s3.example.com
  bucket: photos
  user: alice
  credentials: {access_key: AK, secret_key: SK}
watch:
  - path: ~/Pictures
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Watch[0], (config.Root{Path: filepath.Join(home, "Pictures"), Name: "Pictures"}); got != want {
		t.Errorf("watch: got %+v, want %+v", got, want)
	}
	if c.Storage.PartSize != 16<<20 || c.Storage.Concurrency.Files != 4 || c.Device.Name == "" {
		t.Errorf("defaults not applied: %+v", c.Storage)
	}
	if got := strings.Join(c.Media.Kinds, ","); got != "photo,video,sidecar" {
		t.Errorf("media.kinds: got %v, want photo,video,sidecar", got)
	}
	if !c.Media.Thumbnails || !c.Media.Since.IsZero() || !c.Media.Since.Time().IsZero() || len(c.Media.ExcludePresets) != 0 {
		t.Errorf("media defaults: got thumbnails %v, since %q, presets %v; want true, none, none",
			c.Media.Thumbnails, c.Media.Since, c.Media.ExcludePresets)
	}
}

// The keys that choose what to back up, as a user writes them.
func TestLoad_MediaSelection(t *testing.T) {
	clearEnv(t)
	text := strings.Replace(valid, `  exclude: ["**/cache/**"]`, `  exclude: ["**/cache/**"]
  exclude_presets: [screenshots, whatsapp, telegram, downloads]
  since: 2024-01-31
  thumbnails: false`, 1)
	text = strings.Replace(text, "  part_size: 16MiB", "  key_template: \"{user}/{year}/{month}/{day}/{name}\"\n  part_size: 16MiB", 1)
	c, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Media
	if got := strings.Join(m.Kinds, ","); got != "photo,video" {
		t.Errorf("kinds set in the file: got %s, want photo,video (no sidecar added)", got)
	}
	if got := strings.Join(m.ExcludePresets, ","); got != "screenshots,whatsapp,telegram,downloads" {
		t.Errorf("exclude_presets: got %s", got)
	}
	if m.Thumbnails {
		t.Error("thumbnails: got true, want false as written")
	}
	want := time.Date(2024, time.January, 31, 0, 0, 0, 0, time.Local)
	if got := m.Since.Time(); !got.Equal(want) || got.Location() != time.Local || m.Since.String() != "2024-01-31" {
		t.Errorf("since: got %v (%q), want %v", got, m.Since, want)
	}
	if c.Storage.KeyTemplate != "{user}/{year}/{month}/{day}/{name}" {
		t.Errorf("key_template: got %q", c.Storage.KeyTemplate)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"since: \"2024-01-31\"", "thumbnails: false", "    - whatsapp"} {
		if !strings.Contains(string(out), line) {
			t.Errorf("config print lacks %q:\n%s", line, out)
		}
	}
}

// Every preset the config accepts has its globs in package media.
func TestExcludePresets_KnownToMedia(t *testing.T) {
	for _, name := range config.ExcludePresets {
		if len(media.PresetGlobs(name)) == 0 {
			t.Errorf("preset %s: media has no globs for it", name)
		}
	}
	if got, want := strings.Join(media.Presets(), ","), strings.Join(config.ExcludePresets, ","); got != want {
		t.Errorf("media presets %s, config presets %s", got, want)
	}
}

func TestLoad_SinceFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("CLOUDKEEP_MEDIA_SINCE", "2025-06-01")
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	if c.Media.Since.String() != "2025-06-01" {
		t.Errorf("since: got %q, want 2025-06-01", c.Media.Since)
	}
	t.Setenv("CLOUDKEEP_MEDIA_SINCE", "June")
	_, err = config.Load(write(t, valid))
	want := `environment CLOUDKEEP_MEDIA_SINCE: media.since: "June" is not a date (use YYYY-MM-DD, e.g. 2024-01-31)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoad_Errors(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name      string
		old, new_ string
		want      string // what follows "<file>:"
	}{
		{"part size below minimum", "part_size: 16MiB", "part_size: 3MiB",
			"12: storage.part_size: 3.0 MiB is below the S3 minimum of 5MiB"},
		{"unknown key", "  secure: false", "  secure: false\n  colour: blue",
			"6: storage.colour: unknown key (known keys here: endpoint, secure, region, bucket, user, credentials, key_template, part_size, multipart_threshold, concurrency, bandwidth_limit, give_up_after, request_timeout)"},
		{"wrong type", "  secure: false", "  secure: maybe",
			`5: storage.secure: want true or false, got "maybe"`},
		{"bad size", "part_size: 16MiB", "part_size: sixteen",
			`12: storage.part_size: "sixteen" is not a size (use e.g. 16MiB, 1GiB)`},
		{"bad rate", "bandwidth_limit: 20MiB/s", "bandwidth_limit: 20MiB",
			`17: storage.bandwidth_limit: "20MiB" is not a rate (use e.g. 20MiB/s, or 0 for no limit)`},
		{"endpoint with scheme", "endpoint: 127.0.0.1:9000", "endpoint: http://127.0.0.1:9000",
			`4: storage.endpoint: "http://127.0.0.1:9000" must be host[:port] without a scheme or path; set storage.secure for https`},
		{"unknown media kind", "kinds: [photo, video]", "kinds: [photo, podcast]",
			`22: media.kinds[1]: "podcast" is not one of photo, video, music, sidecar`},
		{"concurrency out of range", "parts: 8", "parts: 100",
			"16: storage.concurrency.parts: 100 is out of range 1 to 64"},
		{"concurrency zero", "parts: 8", "parts: 0",
			"16: storage.concurrency.parts: 0 is out of range 1 to 64"},
		{"give_up_after zero", "bandwidth_limit: 20MiB/s", "bandwidth_limit: 20MiB/s\n  give_up_after: 0",
			"18: storage.give_up_after: 0s is below the minimum of 1s"},
		{"request_timeout zero", "bandwidth_limit: 20MiB/s", "bandwidth_limit: 20MiB/s\n  request_timeout: 0s",
			"18: storage.request_timeout: 0s is below the minimum of 1s"},
		{"settle zero", "log:\n  level: info", "settle: 0s\nlog:\n  level: info",
			"25: settle: 0s is below the minimum of 10ms"},
		{"settle_lease not a bool", "log:\n  level: info", "settle_lease: sometimes\nlog:\n  level: info",
			`25: settle_lease: want true or false, got "sometimes"`},
		{"unknown placeholder", "  part_size: 16MiB", "  key_template: \"{user}/{hour}/{path}\"\n  part_size: 16MiB",
			"12: storage.key_template: unknown placeholder {hour} (known: {user}, {device}, {root}, {path}, {name}, {year}, {month}, {day})"},
		{"template without path or name", "  part_size: 16MiB", "  key_template: \"{user}/{year}/{month}\"\n  part_size: 16MiB",
			`12: storage.key_template: "{user}/{year}/{month}" must contain {path} or {name}: without the file's name every file would land on one key`},
		{"bad since", "kinds: [photo, video]", "kinds: [photo, video]\n  since: 2024-13-01",
			`23: media.since: "2024-13-01" is not a date (use YYYY-MM-DD, e.g. 2024-01-31)`},
		{"since not a day", "kinds: [photo, video]", "kinds: [photo, video]\n  since: 31.01.2024",
			`23: media.since: "31.01.2024" is not a date (use YYYY-MM-DD, e.g. 2024-01-31)`},
		{"since a list", "kinds: [photo, video]", "kinds: [photo, video]\n  since: [2024-01-31]",
			`23: media.since: want a single value, got a list`},
		{"unknown preset", "kinds: [photo, video]", "kinds: [photo, video]\n  exclude_presets: [whatsapp, tiktok]",
			`23: media.exclude_presets[1]: "tiktok" is not one of screenshots, whatsapp, telegram, downloads`},
		{"hidden root name", "    name: pictures", "    name: .thumbs",
			`20: watch[0].name: ".thumbs" must not start with '.': keys with a hidden part (such as .thumbs, where thumbnails are kept) are not listed or restored`},
		{"thumbnails not a bool", "kinds: [photo, video]", "kinds: [photo, video]\n  thumbnails: small",
			`23: media.thumbnails: want true or false, got "small"`},
		{"mode", "mode: static", "mode: magic",
			`9: storage.credentials.mode: "magic" is not one of static, account`},
		{"both secrets", "secret_key: s3cr3t-value", "secret_key: s3cr3t-value\n    secret_key_file: /etc/key",
			"12: storage.credentials.secret_key_file: set either secret_key or secret_key_file, not both"},
		{"missing bucket", "  bucket: photos\n", "",
			" storage.bucket: required: the bucket that holds the backups"},
		{"list where a mapping belongs", "log:\n  level: info", "log: [info]",
			"25: log: want a mapping of keys, got a list"},
		{"duplicate root names", "    name: pictures", "    name: pictures\n  - path: /srv/more\n    name: pictures",
			`22: watch[1].name: "pictures" is already the name of watch[0]: root names must be unique`},
		{"root inside another", "    name: pictures", "    name: pictures\n  - path: /srv/photos/2024\n    name: y2024",
			`21: watch[1].path: "/srv/photos/2024" is inside watch[0].path "/srv/photos": its files would be stored twice; watch only one of them`},
		{"root containing another", "    name: pictures", "    name: pictures\n  - path: /srv\n    name: srv",
			`21: watch[1].path: "/srv" contains watch[0].path "/srv/photos": its files would be stored twice; watch only one of them`},
		{"same root twice", "    name: pictures", "    name: pictures\n  - path: /srv/photos/\n    name: again",
			`21: watch[1].path: "/srv/photos/" is the same folder as watch[0].path "/srv/photos": its files would be stored twice; watch only one of them`},
		{"bad glob", `exclude: ["**/cache/**"]`, `exclude: ["[abc"]`,
			`23: media.exclude[0]: "[abc" is not a valid glob pattern`},
		{"removed key", "log:\n  level: info", "account:\n  role_arn: arn:aws:iam::1:role/x\nlog:\n  level: info",
			"26: account.role_arn: no longer used: devices get storage grants from the account service, which holds the storage keys; remove it"},
		{"yaml syntax", "  user: alice", "  user: alice\n bad indent: x",
			"7: invalid YAML: did not find expected key"},
		{"duplicate key", "log:\n  level: info", "settle: 2s\nlog:\n  level: info\nsettle: 5s",
			"28: settle: duplicate key: also set on line 25; keep one"},
		{"duplicate nested key", "  bucket: photos", "  bucket: photos\n  bucket: videos",
			"7: storage.bucket: duplicate key: also set on line 6; keep one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(valid, tc.old, tc.new_, 1)
			if text == valid {
				t.Fatalf("case does not change the config")
			}
			path := write(t, text)
			_, err := config.Load(path)
			if err == nil {
				t.Fatal("got no error")
			}
			want := path + ":" + tc.want
			if got := err.Error(); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// Roots are compared as the folders they are: through symlinks too.
func TestLoad_NestedRootsThroughSymlinks(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	if err := os.MkdirAll(filepath.Join(photos, "2024"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ name, target string }{{"same", photos}, {"year", filepath.Join(photos, "2024")}} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	for _, tc := range []struct{ name, link, want string }{
		{"same folder", "same", "is the same folder as"},
		{"inside", "year", "is inside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := filepath.Join(dir, tc.link)
			text := strings.Replace(valid, "  - path: /srv/photos\n    name: pictures",
				"  - path: "+photos+"\n    name: pictures\n  - path: "+link+"\n    name: other", 1)
			path := write(t, text)
			_, err := config.Load(path)
			want := fmt.Sprintf(`%s:21: watch[1].path: %q %s watch[0].path %q: its files would be stored twice; watch only one of them`,
				path, link, tc.want, photos)
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
		})
	}
}

// settle_lease is on unless the file or the environment turns it off.
func TestLoad_SettleLease(t *testing.T) {
	for _, tc := range []struct {
		name, line, env string
		want            bool
	}{
		{"default", "", "", true},
		{"on", "settle_lease: true\n", "", true},
		{"off", "settle_lease: false\n", "", false},
		{"off by the environment", "settle_lease: true\n", "false", false},
		{"on by the environment", "settle_lease: false\n", "true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "" {
				t.Setenv("CLOUDKEEP_SETTLE_LEASE", tc.env)
			}
			c, err := config.Load(write(t, valid+tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if c.SettleLease != tc.want {
				t.Errorf("settle_lease: got %v, want %v", c.SettleLease, tc.want)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	_, err := config.Load("/nonexistent/config.yaml")
	want := "config file /nonexistent/config.yaml does not exist: write one with `cloudkeep config init --config /nonexistent/config.yaml`"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoad_Environment(t *testing.T) {
	clearEnv(t)
	text := strings.Replace(valid, "    access_key: AKIAEXAMPLE\n    secret_key: s3cr3t-value\n", "", 1)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("CLOUDKEEP_STORAGE_PART_SIZE", "64MiB")
	t.Setenv("CLOUDKEEP_STORAGE_SECURE", "true")
	c, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Credentials.AccessKey != "AKENV" || c.Storage.PartSize != 64<<20 || !c.Storage.Secure {
		t.Errorf("environment not applied: %+v", c.Storage)
	}
	if key, _ := c.SecretKey(); key != "env-secret" {
		t.Errorf("secret from AWS_SECRET_ACCESS_KEY not used")
	}
	t.Setenv("CLOUDKEEP_STORAGE_PART_SIZE", "1KiB")
	_, err = config.Load(write(t, text))
	want := "environment CLOUDKEEP_STORAGE_PART_SIZE: storage.part_size: 1.0 KiB is below the S3 minimum of 5MiB"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestRedacted(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, valid))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t-value") || !strings.Contains(string(out), "secret_key: <redacted>") {
		t.Errorf("secret not redacted:\n%s", out)
	}
	if !strings.Contains(string(out), "part_size: 16 MiB") {
		t.Errorf("sizes not printed with units:\n%s", out)
	}
}

func TestSecretKeyFile(t *testing.T) {
	clearEnv(t)
	keyFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(keyFile, []byte("from-file\n"), 0o600)
	text := strings.Replace(valid, "secret_key: s3cr3t-value", "secret_key_file: "+keyFile, 1)
	c, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if key, err := c.SecretKey(); key != "from-file" || err != nil {
		t.Errorf("got %q, %v, want from-file", key, err)
	}
}

func TestExampleIsHelpful(t *testing.T) {
	clearEnv(t)
	_, err := config.Parse("example.yaml", config.Example)
	if err == nil {
		t.Fatal("the unedited example must not pass: it has no endpoint")
	}
	for _, want := range []string{"storage.endpoint: required", "storage.bucket: required", "storage.credentials.access_key: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("example errors lack %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "unknown key") {
		t.Errorf("example has keys the loader does not know:\n%v", err)
	}
}

func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CLOUDKEEP_") || strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestLoadAccount(t *testing.T) {
	clearEnv(t)
	c, err := config.LoadAccount(write(t, "listen: 127.0.0.1:9090\nmin_age_by_region: {KR: 14}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "http://127.0.0.1:9090" || c.ClientID != "cloudkeep-agent" || c.MinAge != 13 || c.MinAgeByRegion["KR"] != 14 {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.RequireDelivery(); err == nil {
		t.Error("no delivery configured, yet RequireDelivery passed")
	}
	for _, tc := range []struct{ text, want string }{
		{"listen: nowhere\n", `:1: listen: "nowhere" is not host:port`},
		{"public_url: ftp://x\n", `:1: public_url: "ftp://x" is not an http(s) URL`},
		{"min_age_by_region: {Korea: 14}\n", `:1: min_age_by_region.Korea: "Korea" is not a two-letter region code such as DE or KR`},
		{"delivery:\n  email:\n    smtp: {host: smtp.example.com, from: nobody}\n", `:3: delivery.email.smtp.from: "nobody" is not an email address`},
		{"tokens:\n  access_ttl: 5s\n", `:2: tokens.access_ttl: 5s is below the minimum of 10s`},
	} {
		path := write(t, tc.text)
		_, err := config.LoadAccount(path)
		if err == nil || err.Error() != path+tc.want {
			t.Errorf("%q: got %v, want %s", tc.text, err, path+tc.want)
		}
	}
}

// Preset names are taken whatever their case, as they are written in the
// README's table or by the app's own spelling.
func TestLoad_PresetCase(t *testing.T) {
	clearEnv(t)
	c, err := config.Load(write(t, strings.Replace(valid, "kinds: [photo, video]", "kinds: [photo, video]\n  exclude_presets: [WhatsApp, SCREENSHOTS]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Media.ExcludePresets, ","); got != "whatsapp,screenshots" {
		t.Errorf("presets %q, want whatsapp,screenshots", got)
	}
}
