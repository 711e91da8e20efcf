package config

// Alerts say who is told when something is wrong, and when.
type Alerts struct{}

// validateAlerts checks alerts:.
func (c *Agent) validateAlerts(v *validator) {}

// alertsDefaults fills what alerts: leaves out.
func (c *Agent) alertsDefaults() {}
