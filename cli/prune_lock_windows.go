package cli

// lockPrune takes no lock on Windows yet: prune is run by hand, one at a
// time.
func lockPrune(stateDir string) (unlock func(), err error) { return func() {}, nil }
