package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
)

// shutdown_grace is capped below the packaged unit's TimeoutStopSec, so
// that a stop never ends in systemd's SIGKILL.
func TestLoad_ShutdownGraceCapped(t *testing.T) {
	clearEnv(t)
	if _, err := config.Load(write(t, valid+"shutdown_grace: 2m\n")); err != nil {
		t.Errorf("shutdown_grace 2m: %v", err)
	}
	path := write(t, valid+"shutdown_grace: 2m1s\n")
	_, err := config.Load(path)
	want := path + ":27: shutdown_grace: 2m1s is above the maximum of 2m0s: the service manager stops a service that takes longer (TimeoutStopSec=180 in the packaged unit)"
	if errString(err) != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if config.MaxShutdownGrace != 2*time.Minute || !strings.Contains(want, "180") {
		t.Errorf("MaxShutdownGrace %s", config.MaxShutdownGrace)
	}
}
