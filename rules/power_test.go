package rules

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sysfs writes a fake /sys/class/power_supply: each supply a folder of
// files.
func sysfs(t *testing.T, supplies map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, files := range supplies {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, v := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestPowerSupplies_OnBattery(t *testing.T) {
	ac := func(online string) map[string]string { return map[string]string{"type": "Mains", "online": online} }
	bat := func(status string) map[string]string { return map[string]string{"type": "Battery", "status": status} }
	for _, tc := range []struct {
		name     string
		supplies map[string]map[string]string
		want     bool
	}{
		{"laptop plugged in", map[string]map[string]string{"AC": ac("1"), "BAT0": bat("Charging")}, false},
		{"laptop unplugged", map[string]map[string]string{"AC": ac("0"), "BAT0": bat("Discharging")}, true},
		{"unplugged, battery full", map[string]map[string]string{"AC": ac("0"), "BAT0": bat("Full")}, true},
		{"desktop", map[string]map[string]string{"AC": ac("1")}, false},
		{"mains offline, no battery", map[string]map[string]string{"AC": ac("0")}, false},
		{"no mains, battery discharging", map[string]map[string]string{"BAT0": bat("Discharging")}, true},
		{"no mains, battery charging", map[string]map[string]string{"BAT0": bat("Charging")}, false},
		{"USB-C charger", map[string]map[string]string{"AC": ac("0"), "ucsi-source-psy-USBC000:001": {"type": "USB", "online": "1"}, "BAT0": bat("Charging")}, false},
		{"a mouse's battery", map[string]map[string]string{"AC": ac("1"), "hidpp_battery_0": {"type": "Battery", "scope": "Device", "status": "Discharging"}}, false},
		{"only a mouse's battery", map[string]map[string]string{"hidpp_battery_0": {"type": "Battery", "scope": "Device", "status": "Discharging"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PowerSupplies{Root: sysfs(t, tc.supplies)}.OnBattery()
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPowerSupplies_NoInformation(t *testing.T) {
	for _, root := range []string{filepath.Join(t.TempDir(), "absent"), t.TempDir()} {
		if got, err := (PowerSupplies{Root: root}).OnBattery(); got || !errors.Is(err, ErrNoPowerInfo) {
			t.Errorf("%s: got %v, %v; want false, ErrNoPowerInfo", root, got, err)
		}
	}
}
