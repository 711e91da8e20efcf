package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvConfig names the environment variable that points at the config file.
const EnvConfig = "CLOUDKEEP_CONFIG"

// SystemPath is the config file of the system service.
const SystemPath = "/etc/cloudkeep/config.yaml"

// DefaultPath returns the config file to use when --config is not given:
// $CLOUDKEEP_CONFIG, else the user's config file if it exists, else
// SystemPath.
func DefaultPath() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	if dir, err := os.UserConfigDir(); err == nil {
		p := filepath.Join(dir, "cloudkeep", "config.yaml")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return SystemPath
}

// UserPath returns the per-user config file location.
func UserPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cloudkeep", "config.yaml"), nil
}

// Load reads the agent's config file, applies CLOUDKEEP_* environment
// overrides and defaults, and validates it. Every problem found is returned,
// joined; each is an *Error.
func Load(path string) (*Agent, error) {
	data, err := readFile(path, "cloudkeep config init --config "+path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func readFile(path, hint string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config file %s does not exist: write one with `%s`", path, hint)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}

// decodeInto parses YAML data from file strictly into target (a pointer to
// a struct), then applies CLOUDKEEP_* environment overrides. It returns
// where each key came from.
func decodeInto(file string, data []byte, target any) (source, error) {
	src := source{file: file, at: map[string]origin{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return src, syntaxError(file, err)
	}
	d := &decoder{src: &src, file: file}
	v := reflect.ValueOf(target).Elem()
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], v, "")
	}
	d.applyEnv(v, "")
	return src, errors.Join(d.errs...)
}

// Parse is Load for data already read from the named file.
func Parse(file string, data []byte) (*Agent, error) {
	c := &Agent{}
	src, err := decodeInto(file, data, c)
	if err != nil {
		return nil, err
	}
	c.source = src
	c.applyAWSEnv()
	if err := c.setDefaults(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyAWSEnv takes static keys from the usual AWS variables when the file
// leaves them out.
func (c *Agent) applyAWSEnv() {
	cr := &c.Storage.Credentials
	if v := os.Getenv("AWS_ACCESS_KEY_ID"); v != "" && cr.AccessKey == "" {
		cr.AccessKey = v
		c.source.at["storage.credentials.access_key"] = origin{file: "environment AWS_ACCESS_KEY_ID"}
	}
	if v := os.Getenv("AWS_SECRET_ACCESS_KEY"); v != "" && cr.SecretKey == "" && cr.SecretKeyFile == "" {
		cr.SecretKey = v
		c.source.at["storage.credentials.secret_key"] = origin{file: "environment AWS_SECRET_ACCESS_KEY"}
	}
}

// Defaults used when the file leaves a key out.
const (
	DefaultKeyTemplate = "{user}/{device}/{root}/{path}"
	DefaultPartSize    = 16 << 20
	DefaultThreshold   = 16 << 20
	DefaultFiles       = 4
	DefaultParts       = 4

	DefaultSettle         = 2 * time.Second
	DefaultRescanInterval = time.Hour
	DefaultVerifyInterval = 24 * time.Hour
	DefaultPollInterval   = time.Minute
	DefaultShutdownGrace  = 10 * time.Second
	// MaxShutdownGrace is the longest shutdown_grace accepted: the packaged
	// unit's TimeoutStopSec (180 s) leaves a minute beyond it before
	// systemd kills the agent.
	MaxShutdownGrace      = 2 * time.Minute
	DefaultGiveUpAfter    = 30 * time.Second
	DefaultRequestTimeout = time.Minute
)

func (c *Agent) setDefaults() error {
	for i, p := range c.Media.ExcludePresets {
		c.Media.ExcludePresets[i] = strings.ToLower(p) // WhatsApp is whatsapp
	}
	if c.Device.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("device.name is not set and the host name is unknown: %w", err)
		}
		c.Device.Name = strings.Split(host, ".")[0]
	}
	s := &c.Storage
	setIfZero(&s.Credentials.Mode, "static")
	setIfZero(&c.Account.ClientID, "cloudkeep-agent")
	c.Account.URL = strings.TrimSuffix(c.Account.URL, "/")
	setIfZero(&s.KeyTemplate, DefaultKeyTemplate)
	setIfZero(&s.PartSize, DefaultPartSize)
	setIfZero(&s.MultipartThreshold, DefaultThreshold)
	setIfZero(&s.Concurrency.Files, DefaultFiles)
	setIfZero(&s.Concurrency.Parts, DefaultParts)
	setIfZero(&s.GiveUpAfter, Duration(DefaultGiveUpAfter))
	setIfZero(&s.RequestTimeout, Duration(DefaultRequestTimeout))
	if c.Media.Kinds == nil {
		c.Media.Kinds = []string{"photo", "video", "sidecar"}
	}
	if !c.source.zero["media.thumbnails"] { // on unless the file or environment says false
		c.Media.Thumbnails = true
	}
	setIfZero(&c.Settle, Duration(DefaultSettle))
	if !c.source.zero["settle_lease"] { // on unless the file or environment says false
		c.SettleLease = true
	}
	setIfZero(&c.RescanInterval, Duration(DefaultRescanInterval))
	setIfZero(&c.PollInterval, Duration(DefaultPollInterval))
	setIfZero(&c.ShutdownGrace, Duration(DefaultShutdownGrace))
	if !c.source.zero["verify_interval"] { // 0 in the file: never
		setIfZero(&c.VerifyInterval, Duration(DefaultVerifyInterval))
	}
	c.rulesDefaults()
	c.alertsDefaults()
	setIfZero(&c.Log.Level, "info")
	setIfZero(&c.Log.Format, "auto")
	return c.expandPaths()
}

// expandPaths expands "~" in every path key, defaults the watch names and
// the state directory, and refuses "~" when no home directory is known.
func (c *Agent) expandPaths() error {
	var errs []error
	expand := func(key string, p *string) {
		e, err := expandHome(*p)
		if err != nil {
			errs = append(errs, c.source.errorf(key, "%q: cannot expand ~: %v; write the full path", *p, err))
			return
		}
		*p = e
	}
	for i := range c.Watch {
		r := &c.Watch[i]
		expand(fmt.Sprintf("watch[%d].path", i), &r.Path)
		if r.Name == "" && r.Path != "" {
			r.Name = filepath.Base(filepath.Clean(r.Path))
		}
	}
	setIfZero(&c.StateDir, defaultStateDir())
	expand("state_dir", &c.StateDir)
	expand("storage.credentials.secret_key_file", &c.Storage.Credentials.SecretKeyFile)
	setIfZero(&c.Control.Socket, filepath.Join(c.StateDir, "control.sock"))
	expand("control.socket", &c.Control.Socket)
	return errors.Join(errs...)
}

func setIfZero[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/cloudkeep"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cloudkeep")
	}
	return "~/.local/state/cloudkeep"
}

// ExpandHome replaces a leading "~" with the user's home directory ($HOME,
// else the passwd entry's); p is returned unchanged when neither is known.
func ExpandHome(p string) string {
	if e, err := expandHome(p); err == nil {
		return e
	}
	return p
}

// expandHome replaces a leading "~" with the user's home directory, or
// says why it cannot.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := homeDir()
	if err != nil {
		return p, err
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// homeDir returns $HOME, else the home directory of the user's passwd entry
// (a system service may run without HOME).
func homeDir() (string, error) {
	if home, err := os.UserHomeDir(); err == nil {
		return home, nil
	}
	home, err := lookupHome()
	if err != nil {
		return "", fmt.Errorf("HOME is not set and the user's home directory is unknown (%v)", err)
	}
	return home, nil
}

// lookupHome returns the home directory of the current user's passwd entry.
var lookupHome = func() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	if u.HomeDir == "" {
		return "", fmt.Errorf("user %s has no home directory", u.Username)
	}
	return u.HomeDir, nil
}

// SecretKey returns the static secret key, reading secret_key_file if that
// is how it is given.
func (c *Agent) SecretKey() (string, error) {
	cr := c.Storage.Credentials
	if cr.SecretKeyFile == "" {
		return cr.SecretKey, nil
	}
	key, err := ReadSecretFile(cr.SecretKeyFile)
	if err != nil {
		return "", c.source.errorf("storage.credentials.secret_key_file", "%v", err)
	}
	return key, nil
}

// File returns the path the configuration was read from.
func (c *Agent) File() string { return c.source.file }
