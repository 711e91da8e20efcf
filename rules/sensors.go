package rules

import "context"

// Sensors say what the machine is doing now; a nil func says nothing (the
// system cannot tell).
type Sensors struct {
	Metered   func(ctx context.Context) (bool, error)
	OnBattery func() (bool, error)
}
