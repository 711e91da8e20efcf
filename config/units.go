package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"
)

// Size is a byte count written with a unit: "16MiB", "1GiB", "500KB", "0".
type Size int64

// ParseSize reads a byte count such as "16MiB" or "5 GB".
func ParseSize(s string) (Size, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil || n > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (use e.g. 16MiB, 1GiB)", s)
	}
	return Size(n), nil
}

func (s Size) String() string { return humanize.IBytes(uint64(s)) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// Rate is a bandwidth in bytes per second written as "20MiB/s"; 0 means
// unlimited.
type Rate int64

// ParseRate reads a bandwidth such as "20MiB/s" or "0".
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "/s")
	n, err := ParseSize(t)
	if err != nil || (t != "0" && !strings.HasSuffix(strings.TrimSpace(s), "/s")) {
		return 0, fmt.Errorf("%q is not a rate (use e.g. 20MiB/s, or 0 for no limit)", s)
	}
	return Rate(n), nil
}

func (r Rate) String() string {
	if r == 0 {
		return "0"
	}
	return humanize.IBytes(uint64(r)) + "/s"
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseRate(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. 2s, 10m, 1h)", n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Date is a calendar day written as YYYY-MM-DD; the zero Date is "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a day such as "2024-01-31"; "" is the zero Date.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (use YYYY-MM-DD, e.g. 2024-01-31)", s)
	}
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
}

// IsZero reports whether no date is set.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns the start of the day in the local time zone: a capture time
// before it is older than the day. The zero Date gives the zero time.
func (d Date) Time() time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.Local)
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDate(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Date) MarshalYAML() (any, error) { return d.String(), nil }
