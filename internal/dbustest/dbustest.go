// Package dbustest starts a private D-Bus daemon for a test: the desktop
// notifications and NetworkManager's metered property are tested against a
// real bus, with a stand-in service on it.
package dbustest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// config is a session bus on a socket in a directory of the test's, where
// anyone may own any name: the test's stand-in services.
const config = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>`

// Start starts dbus-daemon on a private socket until the test ends and
// returns its address (for dbus.Connect, or DBUS_SESSION_BUS_ADDRESS).
// Without dbus-daemon the test is skipped, and fails under CI=true, where
// scripts/install-dbus.sh installs it.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon is not installed: run scripts/install-dbus.sh")
		}
		t.Skip("dbus-daemon is not installed (scripts/install-dbus.sh installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(config, "%s", dir, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// NetworkManager stands in for NetworkManager's Metered property: it
// answers org.freedesktop.DBus.Properties.Get with the value and after the
// delay the test sets.
type NetworkManager struct {
	mu      sync.Mutex
	metered uint32
	delay   time.Duration
}

// Set makes later answers say metered (NMMetered: 1 yes, 2 no, 3 guess
// yes, 4 guess no), each after delay.
func (n *NetworkManager) Set(metered uint32, delay time.Duration) {
	n.mu.Lock()
	n.metered, n.delay = metered, delay
	n.mu.Unlock()
}

// Get is org.freedesktop.DBus.Properties.Get.
func (n *NetworkManager) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	n.mu.Lock()
	m, d := n.metered, n.delay
	n.mu.Unlock()
	time.Sleep(d)
	return dbus.MakeVariant(m), nil
}

// NetworkManagerName is the bus name NetworkManager owns.
const NetworkManagerName = "org.freedesktop.NetworkManager"

// StartNetworkManager starts a private bus (Start) with a NetworkManager
// on it that says metered, and returns the bus address, the stand-in and
// its connection (to leave the bus and come back: ReleaseName, Own).
func StartNetworkManager(t testing.TB, metered uint32) (string, *NetworkManager, *dbus.Conn) {
	t.Helper()
	addr := Start(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	nm := &NetworkManager{metered: metered}
	if err := conn.Export(nm, "/org/freedesktop/NetworkManager", "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	Own(t, conn)
	return addr, nm, conn
}

// Own makes conn the owner of NetworkManager's name.
func Own(t testing.TB, conn *dbus.Conn) {
	t.Helper()
	if reply, err := conn.RequestName(NetworkManagerName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v, %v", NetworkManagerName, reply, err)
	}
}
