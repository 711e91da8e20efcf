package rules

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/cloudkeep/cloudkeep/internal/dbustest"
)

// fakeNM answers Metered as NetworkManager would, or fails.
type fakeNM struct {
	metered uint32
	err     error
}

func (f fakeNM) GetProperty(name string) (dbus.Variant, error) {
	if name != nmProperty {
		return dbus.Variant{}, errors.New("no such property " + name)
	}
	return dbus.MakeVariant(f.metered), f.err
}

func TestNetworkManager_Metered(t *testing.T) {
	for _, tc := range []struct {
		value uint32
		want  bool
	}{{0, false}, {1, true}, {2, false}, {3, true}, {4, false}} {
		nm := &NetworkManager{Object: fakeNM{metered: tc.value}}
		if got, err := nm.Metered(context.Background()); err != nil || got != tc.want {
			t.Errorf("NMMetered %d: got %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}
	nm := &NetworkManager{Object: fakeNM{err: errors.New("org.freedesktop.DBus.Error.ServiceUnknown")}}
	if _, err := nm.Metered(context.Background()); !errors.Is(err, ErrNoNetworkManager) {
		t.Errorf("NetworkManager not running: got %v, want ErrNoNetworkManager", err)
	}
}

// A NetworkManager of the test's own on a real bus: its Metered property
// is read over D-Bus, follows its changes, and a NetworkManager that
// leaves the bus is told apart.
func TestNetworkManager_OverDBus(t *testing.T) {
	addr := dbustest.Start(t)
	server, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	props, err := prop.Export(server, nmPath, prop.Map{
		nmService: {"Metered": {Value: uint32(nmMeteredYes), Emit: prop.EmitTrue}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := server.RequestName(nmService, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v, %v", nmService, reply, err)
	}
	nm := &NetworkManager{Address: addr}
	defer nm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := nm.Metered(ctx); err != nil || !got {
		t.Errorf("metered: got %v, %v; want true", got, err)
	}
	props.SetMust(nmService, "Metered", uint32(4)) // guess-no
	if got, err := nm.Metered(ctx); err != nil || got {
		t.Errorf("after guess-no: got %v, %v; want false", got, err)
	}
	if _, err := server.ReleaseName(nmService); err != nil {
		t.Fatal(err)
	}
	if _, err := nm.Metered(ctx); !errors.Is(err, ErrNoNetworkManager) {
		t.Errorf("NetworkManager gone from the bus: got %v, want ErrNoNetworkManager", err)
	}
}

func TestNetworkManager_NoBus(t *testing.T) {
	nm := &NetworkManager{Address: "unix:path=" + t.TempDir() + "/no-bus"}
	if _, err := nm.Metered(context.Background()); !errors.Is(err, ErrNoNetworkManager) {
		t.Errorf("no bus: got %v, want ErrNoNetworkManager", err)
	}
}
