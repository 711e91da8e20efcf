package rules

// System returns the sensors of this system: on Linux, NetworkManager's
// Metered over the system D-Bus and the power supplies in sysfs.
func System() Sensors {
	nm := &NetworkManager{}
	return Sensors{Metered: nm.Metered, OnBattery: PowerSupplies{Root: SysPowerSupply}.OnBattery}
}
