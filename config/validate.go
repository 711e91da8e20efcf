package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3 limits the configuration must respect.
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
)

// MediaKinds lists the kinds media.kinds accepts.
var MediaKinds = []string{"photo", "video", "music", "sidecar"}

// KeyPlaceholders lists what storage.key_template may use.
var KeyPlaceholders = []string{"{user}", "{device}", "{root}", "{path}", "{name}", "{year}", "{month}", "{day}"}

// ExcludePresets lists the names media.exclude_presets accepts; package
// media holds their globs.
var ExcludePresets = []string{"screenshots", "whatsapp", "telegram", "downloads"}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// Validate checks every key and returns all problems, joined, in file order.
func (c *Agent) Validate() error {
	v := &validator{src: &c.source}
	c.validateStorage(v)
	c.validateWatch(v)
	c.validateMedia(v)
	c.validateRules(v)
	c.validateAlerts(v)
	if !c.source.zero["verify_interval"] { // 0: no periodic verify
		v.atLeast("verify_interval", c.VerifyInterval, time.Minute)
	}
	if strings.Contains(c.Device.Name, "/") {
		v.add("device.name", "%q must not contain '/'", c.Device.Name)
	} else if strings.HasPrefix(c.Device.Name, ".") {
		v.add("device.name", "%q must not start with '.': keys with a hidden part (such as .thumbs, where thumbnails are kept) are not listed or restored", c.Device.Name)
	}
	v.atLeast("settle", c.Settle, 10*time.Millisecond)
	v.atLeast("rescan_interval", c.RescanInterval, time.Minute)
	v.atLeast("poll_interval", c.PollInterval, time.Second)
	v.atLeast("shutdown_grace", c.ShutdownGrace, 0)
	v.atMost("shutdown_grace", c.ShutdownGrace, MaxShutdownGrace, "the service manager stops a service that takes longer (TimeoutStopSec=180 in the packaged unit)")
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "auto", "console", "json")
	if l := c.Metrics.Listen; l != "" && !loopback(l) {
		v.add("metrics.listen", "%q must be a loopback address such as 127.0.0.1:9464: the page shows file names", l)
	}
	return v.err()
}

func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Agent) validateStorage(v *validator) {
	s := c.Storage
	static := s.Credentials.Mode != "account" // in account mode the account service holds endpoint and bucket
	switch {
	case s.Endpoint == "" && static:
		v.add("storage.endpoint", "required: host[:port] of the S3 server, e.g. 127.0.0.1:9000 or s3.amazonaws.com")
	case strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/"):
		v.add("storage.endpoint", "%q must be host[:port] without a scheme or path; set storage.secure for https", s.Endpoint)
	}
	if s.Bucket == "" && static {
		v.add("storage.bucket", "required: the bucket that holds the backups")
	} else if err := s3utils.CheckValidBucketNameStrict(s.Bucket); s.Bucket != "" && err != nil {
		v.add("storage.bucket", "%q is not a valid bucket name: %v", s.Bucket, err)
	}
	cr := s.Credentials
	v.oneOf("storage.credentials.mode", cr.Mode, "static", "account")
	if cr.Mode == "account" {
		if u, err := url.Parse(c.Account.URL); c.Account.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("account.url", "required in account mode: the account service's URL, e.g. https://accounts.example.com")
		}
	}
	if cr.Mode == "static" {
		if cr.AccessKey == "" {
			v.add("storage.credentials.access_key", "required in static mode (or set AWS_ACCESS_KEY_ID)")
		}
		switch {
		case cr.SecretKey != "" && cr.SecretKeyFile != "":
			v.add("storage.credentials.secret_key_file", "set either secret_key or secret_key_file, not both")
		case cr.SecretKey == "" && cr.SecretKeyFile == "":
			v.add("storage.credentials.secret_key", "required in static mode: set secret_key, secret_key_file or AWS_SECRET_ACCESS_KEY")
		}
		if s.User == "" && strings.Contains(s.KeyTemplate, "{user}") {
			v.add("storage.user", "required in static mode: the owner's name for {user} in storage.key_template")
		}
	}
	if strings.Contains(s.User, "/") {
		v.add("storage.user", "%q must not contain '/'", s.User)
	}
	c.validateTemplate(v)
	switch {
	case s.PartSize < MinPartSize:
		v.add("storage.part_size", "%s is below the S3 minimum of 5MiB", s.PartSize)
	case s.PartSize > MaxPartSize:
		v.add("storage.part_size", "%s is above the S3 maximum of 5GiB", s.PartSize)
	}
	if s.MultipartThreshold > MaxPartSize {
		v.add("storage.multipart_threshold", "%s is above the S3 single upload maximum of 5GiB", s.MultipartThreshold)
	}
	v.between("storage.concurrency.files", s.Concurrency.Files, 1, 64)
	v.between("storage.concurrency.parts", s.Concurrency.Parts, 1, 64)
	if s.BandwidthLimit < 0 {
		v.add("storage.bandwidth_limit", "must not be negative")
	}
	v.atLeast("storage.give_up_after", s.GiveUpAfter, time.Second)
	v.atLeast("storage.request_timeout", s.RequestTimeout, time.Second)
}

func (c *Agent) validateTemplate(v *validator) {
	t := c.Storage.KeyTemplate
	for _, p := range placeholder.FindAllString(t, -1) {
		if !slices.Contains(KeyPlaceholders, p) {
			v.add("storage.key_template", "unknown placeholder %s (known: %s)", p, strings.Join(KeyPlaceholders, ", "))
			return
		}
	}
	if !strings.Contains(t, "{path}") && !strings.Contains(t, "{name}") {
		v.add("storage.key_template", "%q must contain {path} or {name}: without the file's name every file would land on one key", t)
	}
	if strings.HasPrefix(t, "/") {
		v.add("storage.key_template", "%q must not start with '/'", t)
	} else if problem := templateShape(t); problem != "" {
		v.add("storage.key_template", "%q %s", t, problem)
	}
	if c.Storage.Credentials.Mode == "account" && !strings.HasPrefix(t, "{user}/") {
		v.add("storage.key_template", "%q must start with {user}/ in account mode: the account service lets a device write only under its account's folder", t)
	}
}

// templateShape says what is wrong with the parts of key template t
// between its '/'s, which every key made from it would have wrong: parts
// object stores refuse (empty, "." or ".."), and {name} or {path} where
// restore cannot take the file's name from the key's last part. It
// returns "" when nothing is.
func templateShape(t string) string {
	parts := strings.Split(t, "/")
	last := len(parts) - 1
	for i, p := range parts {
		switch {
		case p == "" && i == last:
			return "must not end with '/': the last part of a key names the file; end the template with {name} or {path}"
		case p == "":
			return `has an empty part ("//"): object stores refuse keys with empty parts; write a single '/'`
		case p == "." || p == "..":
			return fmt.Sprintf(`has a %q part: object stores refuse keys with "." or ".." parts; remove it`, p)
		}
	}
	if strings.Contains(t, "{path}") && !strings.HasSuffix(t, "{path}") {
		return `must end with {path}: {path} is the file's folders and name inside its root, so nothing may follow it; e.g. "{user}/{device}/{root}/{path}"`
	}
	for _, p := range parts[:last] {
		if strings.Contains(p, "{name}") {
			return fmt.Sprintf(`must have {name} in its last part (after the last '/'): restore names each file after the last part of its key, %q here; e.g. "{user}/{year}/{month}/{name}"`, parts[last])
		}
	}
	return ""
}

func (c *Agent) validateWatch(v *validator) {
	if len(c.Watch) == 0 {
		v.add("watch", "required: at least one folder to back up, readable by the user cloudkeep runs as, e.g.\n  watch:\n    - path: /srv/photos")
	}
	names := map[string]int{}
	for i, r := range c.Watch {
		key := fmt.Sprintf("watch[%d]", i)
		if r.Path == "" {
			v.add(key+".path", "required: the folder to back up")
		}
		switch {
		case r.Name == "" || r.Name == "." || r.Name == ".." || strings.Contains(r.Name, "/"):
			v.add(key+".name", "%q is not usable as a key segment: give the root a plain name", r.Name)
		case strings.HasPrefix(r.Name, "."):
			v.add(key+".name", "%q must not start with '.': keys with a hidden part (such as .thumbs, where thumbnails are kept) are not listed or restored", r.Name)
		case names[r.Name] > 0:
			v.add(key+".name", "%q is already the name of watch[%d]: root names must be unique", r.Name, names[r.Name]-1)
		}
		names[r.Name] = i + 1
	}
	c.validateRootsDisjoint(v)
}

// validateRootsDisjoint refuses a root inside another, or the same folder
// twice: its files would be stored under two keys. Paths are compared as
// resolved (symlinks followed) when they exist, as written otherwise.
func (c *Agent) validateRootsDisjoint(v *validator) {
	resolved := make([]string, len(c.Watch))
	for i, r := range c.Watch {
		resolved[i] = resolvePath(r.Path)
	}
	for i, r := range c.Watch {
		for k := range i {
			if r.Path == "" || c.Watch[k].Path == "" {
				continue
			}
			var rel string
			switch a, b := resolved[i], resolved[k]; {
			case a == b || sameFolder(a, b):
				rel = "is the same folder as"
			case within(b, a):
				rel = "is inside"
			case within(a, b):
				rel = "contains"
			default:
				continue
			}
			v.add(fmt.Sprintf("watch[%d].path", i), "%q %s watch[%d].path %q: its files would be stored twice; watch only one of them",
				r.Path, rel, k, c.Watch[k].Path)
			break
		}
	}
}

// resolvePath returns p absolute and clean, with its symlinks resolved when
// it exists.
func resolvePath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// sameFolder reports whether a and b are one existing folder (by device
// and inode, for file systems that ignore case).
func sameFolder(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// within reports whether path is strictly below dir (both clean).
func within(dir, path string) bool {
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(path, dir)
}

// Warnings returns what may be a mistake but need not be one: a watch path
// that does not exist (it is watched once it appears, e.g. when mounted) or
// cannot be examined, one under /tmp or /var/tmp in a service's config (the
// packaged units have a private /tmp and never see it), a secret_key written in a config
// file that others may read, a media.since in the future. Load succeeds
// whatever they say.
func (c *Agent) Warnings() []*Error {
	var ws []*Error
	for i, r := range c.Watch {
		key := fmt.Sprintf("watch[%d].path", i)
		if tmp := tmpDir(r.Path); tmp != "" && c.forService() {
			ws = append(ws, c.source.errorf(key, "%q is under %s, which is private to the cloudkeep service (PrivateTmp=yes): the service never sees this folder: watch another folder", r.Path, tmp))
		}
		switch _, err := os.Stat(r.Path); {
		case errors.Is(err, fs.ErrNotExist):
			ws = append(ws, c.source.errorf(key, "%q does not exist: it is watched once it appears (e.g. when mounted)", r.Path))
		case err != nil:
			ws = append(ws, c.source.errorf(key, "%v", err))
		}
	}
	if w := c.inlineSecretWarning(); w != nil {
		ws = append(ws, w)
	}
	ws = append(ws, c.alertWarnings()...)
	if d := c.Media.Since; d.Time().After(time.Now()) {
		ws = append(ws, c.source.errorf("media.since", "%s is in the future: no photo or video is backed up until one is taken on or after that day", d))
	}
	return ws
}

// forService reports whether the config is a system service's: its file is
// under /etc, or this runs as a systemd service (INVOCATION_ID is set).
func (c *Agent) forService() bool {
	return strings.HasPrefix(c.source.file, "/etc/") || os.Getenv("INVOCATION_ID") != ""
}

// tmpDir returns /tmp or /var/tmp when path is one of them or below it.
func tmpDir(path string) string {
	for _, tmp := range []string{"/tmp", "/var/tmp"} {
		if path == tmp || within(tmp, path) {
			return tmp
		}
	}
	return ""
}

// inlineSecretWarning warns about a secret_key written in the config file
// when others may read that file.
func (c *Agent) inlineSecretWarning() *Error {
	const key = "storage.credentials.secret_key"
	if c.Storage.Credentials.SecretKey == "" || c.source.at[key].file != c.source.file {
		return nil // none, or from the environment
	}
	fi, err := os.Stat(c.source.file)
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return nil
	}
	return c.source.errorf(key, "the secret key is written in %s, which others can read (mode %04o): run `chmod 600 %s`, or move the key to a secret_key_file only the agent's user can read",
		c.source.file, fi.Mode().Perm(), c.source.file)
}

func (c *Agent) validateMedia(v *validator) {
	for i, k := range c.Media.Kinds {
		v.oneOf(fmt.Sprintf("media.kinds[%d]", i), k, MediaKinds...)
	}
	for i, p := range c.Media.ExcludePresets {
		v.oneOf(fmt.Sprintf("media.exclude_presets[%d]", i), p, ExcludePresets...)
	}
	for _, list := range []struct {
		key   string
		globs []string
	}{{"media.include", c.Media.Include}, {"media.exclude", c.Media.Exclude}} {
		for i, g := range list.globs {
			if !doublestar.ValidatePattern(g) {
				v.add(fmt.Sprintf("%s[%d]", list.key, i), "%q is not a valid glob pattern", g)
			}
		}
	}
}

type validator struct {
	src  *source
	errs []*Error
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, v.src.errorf(key, format, args...))
}

func (v *validator) oneOf(key, got string, want ...string) bool {
	if slices.Contains(want, got) {
		return true
	}
	v.add(key, "%q is not one of %s", got, strings.Join(want, ", "))
	return false
}

func (v *validator) atLeast(key string, got Duration, least time.Duration) {
	if v.src.zero[key] {
		got = 0
	}
	if time.Duration(got) < least {
		v.add(key, "%s is below the minimum of %s", time.Duration(got), least)
	}
}

func (v *validator) atMost(key string, got Duration, most time.Duration, why string) {
	if time.Duration(got) > most {
		v.add(key, "%s is above the maximum of %s: %s", time.Duration(got), most, why)
	}
}

func (v *validator) between(key string, got, lo, hi int) {
	if v.src.zero[key] {
		got = 0
	}
	if got < lo || got > hi {
		v.add(key, "%d is out of range %d to %d", got, lo, hi)
	}
}

func (v *validator) err() error {
	// Keys found in the file first, in file order; missing keys after them.
	line := func(e *Error) int {
		if e.Line == 0 {
			return int(^uint(0) >> 1)
		}
		return e.Line
	}
	slices.SortStableFunc(v.errs, func(a, b *Error) int { return line(a) - line(b) })
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}
