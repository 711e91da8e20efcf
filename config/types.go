// Package config reads, checks and describes cloudkeep's configuration file.
//
// Load parses YAML strictly: an unknown key, a value of the wrong type or an
// invalid value is an *Error that names the file, the line and the key path.
package config

import (
	"time"
)

// Agent is the device agent's configuration file.
type Agent struct {
	Device   Device  `yaml:"device"`
	Account  Account `yaml:"account"`
	Storage  Storage `yaml:"storage"`
	Watch    []Root  `yaml:"watch"`
	Media    Media   `yaml:"media"`
	StateDir string  `yaml:"state_dir"`
	Log      Log     `yaml:"log"`

	Settle         Duration `yaml:"settle"`
	SettleLease    bool     `yaml:"settle_lease"` // on Linux, a file quiet for a moment goes once no program holds it open for writing; default true
	RescanInterval Duration `yaml:"rescan_interval"`
	PollInterval   Duration `yaml:"poll_interval"`
	ShutdownGrace  Duration `yaml:"shutdown_grace"`
	Control        Control  `yaml:"control"`
	Metrics        Metrics  `yaml:"metrics"`
	// VerifyInterval is how often the agent compares its journal with
	// the storage's listing (a light verify, no re-hash); default 24h,
	// 0 never.
	VerifyInterval Duration `yaml:"verify_interval"`
	Rules          Rules    `yaml:"rules"`  // when uploads may go (rules.go)
	Alerts         Alerts   `yaml:"alerts"` // who is told when something is wrong (alerts.go)

	source source // where each key was read from, for error messages
}

// Device names this machine.
type Device struct {
	Name string `yaml:"name"`
}

// Account is the account service a device signs in to (credentials mode
// "account").
type Account struct {
	URL      string `yaml:"url"`
	ClientID string `yaml:"client_id"`
}

// Storage is the S3-compatible server and how objects are laid out in it.
type Storage struct {
	Endpoint           string      `yaml:"endpoint"`
	Secure             bool        `yaml:"secure"`
	Region             string      `yaml:"region"`
	Bucket             string      `yaml:"bucket"`
	User               string      `yaml:"user"`
	Credentials        Credentials `yaml:"credentials"`
	KeyTemplate        string      `yaml:"key_template"`
	PartSize           Size        `yaml:"part_size"`
	MultipartThreshold Size        `yaml:"multipart_threshold"`
	Concurrency        Concurrency `yaml:"concurrency"`
	BandwidthLimit     Rate        `yaml:"bandwidth_limit"`
	// GiveUpAfter is how long `backup` waits for a storage that does not
	// answer before it stops; the agent never gives up.
	GiveUpAfter Duration `yaml:"give_up_after"`
	// RequestTimeout is how long a storage request may go without a byte
	// moving before it is abandoned and tried again.
	RequestTimeout Duration `yaml:"request_timeout"`
}

// Credentials says how the agent signs its storage requests.
type Credentials struct {
	Mode          string `yaml:"mode"`
	AccessKey     string `yaml:"access_key"`
	SecretKey     string `yaml:"secret_key" secret:"true"`
	SecretKeyFile string `yaml:"secret_key_file"`
}

// Concurrency bounds the work in flight.
type Concurrency struct {
	Files int `yaml:"files"`
	Parts int `yaml:"parts"`
}

// Root is one watched folder; Name is its segment in object keys.
type Root struct {
	Path string `yaml:"path"`
	Name string `yaml:"name"`
}

// Media selects which files are backed up.
type Media struct {
	Kinds   []string `yaml:"kinds"`
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// ExcludePresets names sets of exclude globs (ExcludePresets lists
	// them), for folders people leave out by name rather than by pattern.
	ExcludePresets []string `yaml:"exclude_presets"`
	// Since leaves out photos and videos taken before this day (local
	// time); zero: no limit.
	Since Date `yaml:"since"`
	// Thumbnails makes a small JPEG of each photo beside the backups;
	// default true.
	Thumbnails bool `yaml:"thumbnails"`
}

// Log sets the log level and format.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Metrics is the agent's local web page and Prometheus endpoint.
type Metrics struct {
	Listen string `yaml:"listen"` // loopback host:port; empty: off
}

// Control is the agent's local control socket.
type Control struct {
	Socket string `yaml:"socket"`
}

// Duration is a time.Duration written in Go syntax ("2s", "1h30m").
type Duration time.Duration
