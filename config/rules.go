package config

// Rules say when uploads may go: on a metered network or on battery or not,
// in which time windows, and how much a day.
type Rules struct{}

// validateRules checks rules:.
func (c *Agent) validateRules(v *validator) {}

// rulesDefaults fills what rules: leaves out.
func (c *Agent) rulesDefaults() {}
