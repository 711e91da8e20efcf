package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// SysPowerSupply is where Linux lists the power supplies.
const SysPowerSupply = "/sys/class/power_supply"

// ErrNoPowerInfo means the system says nothing of its power supplies: a
// desktop or a server without a battery, a container, or not Linux.
var ErrNoPowerInfo = errors.New("no power supply information")

// PowerSupplies reads the power supplies Linux lists under Root (sysfs,
// SysPowerSupply; a folder of the same shape in tests).
type PowerSupplies struct {
	Root string
}

// OnBattery reports whether the machine runs on its battery: it has an
// external supply (Mains, USB) and none is online, or it has none and its
// battery is discharging. A battery of a device (a mouse, a headset:
// scope Device) does not count. ErrNoPowerInfo when Root lists nothing.
func (p PowerSupplies) OnBattery() (bool, error) {
	entries, err := os.ReadDir(p.Root)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return false, ErrNoPowerInfo
	}
	if err != nil {
		return false, err
	}
	var external, online, battery, discharging bool
	for _, e := range entries {
		dir := filepath.Join(p.Root, e.Name())
		if read(dir, "scope") == "Device" {
			continue
		}
		switch t := read(dir, "type"); {
		case t == "Battery":
			battery = true
			discharging = discharging || read(dir, "status") == "Discharging"
		case t == "Mains" || strings.HasPrefix(t, "USB"):
			external = true
			online = online || read(dir, "online") == "1"
		}
	}
	switch {
	case online:
		return false, nil
	case external:
		return battery, nil
	}
	return battery && discharging, nil
}

// read returns the trimmed content of dir/name, "" when it cannot be read.
func read(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
