package rules

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
)

// NetworkManager's D-Bus names for the Metered property of its main
// object: whether the primary connection is metered.
const (
	nmService  = "org.freedesktop.NetworkManager"
	nmPath     = "/org/freedesktop/NetworkManager"
	nmProperty = "org.freedesktop.NetworkManager.Metered"
)

// NMMetered values that count as metered: yes and guess-yes. No (2),
// guess-no (4) and unknown (0) do not.
const (
	nmMeteredYes      = 1
	nmMeteredGuessYes = 3
)

// ErrNoNetworkManager means NetworkManager cannot be asked: no system bus,
// or NetworkManager does not run on it.
var ErrNoNetworkManager = errors.New("NetworkManager not reachable over D-Bus")

// PropertyGetter reads a D-Bus property of one object; dbus.BusObject is
// one, and tests give their own.
type PropertyGetter interface {
	GetProperty(name string) (dbus.Variant, error)
}

// NetworkManager asks NetworkManager whether the network is metered.
type NetworkManager struct {
	// Address is the D-Bus address to connect to; "" the system bus
	// (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).
	Address string
	// Object, when set, is asked instead of connecting (tests).
	Object PropertyGetter

	mu   sync.Mutex
	conn *dbus.Conn
}

// Metered reports whether NetworkManager calls the network metered (yes or
// guess-yes). ErrNoNetworkManager, wrapping the cause, when it cannot be
// asked.
func (n *NetworkManager) Metered(ctx context.Context) (bool, error) {
	obj, err := n.object()
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrNoNetworkManager, err)
	}
	v, err := getProperty(ctx, obj)
	if err != nil {
		n.reset()
		return false, fmt.Errorf("%w: %w", ErrNoNetworkManager, err)
	}
	var m uint32
	if err := v.Store(&m); err != nil {
		return false, fmt.Errorf("NetworkManager Metered is %s, not a number: %w", v.Signature(), err)
	}
	return m == nmMeteredYes || m == nmMeteredGuessYes, nil
}

// getProperty asks obj for Metered, giving up when ctx ends.
func getProperty(ctx context.Context, obj PropertyGetter) (dbus.Variant, error) {
	if bo, ok := obj.(dbus.BusObject); ok {
		var v dbus.Variant
		err := bo.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nmService, "Metered").Store(&v)
		return v, err
	}
	return obj.GetProperty(nmProperty)
}

// object returns NetworkManager's main object, connecting once.
func (n *NetworkManager) object() (PropertyGetter, error) {
	if n.Object != nil {
		return n.Object, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		conn, err := n.connect()
		if err != nil {
			return nil, err
		}
		n.conn = conn
	}
	return n.conn.Object(nmService, nmPath), nil
}

func (n *NetworkManager) connect() (*dbus.Conn, error) {
	if n.Address == "" {
		return dbus.ConnectSystemBus()
	}
	return dbus.Connect(n.Address)
}

// reset drops a connection that failed, so that the next call connects
// again (the bus may have restarted).
func (n *NetworkManager) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil && !n.conn.Connected() {
		n.conn.Close()
		n.conn = nil
	}
}

// Close closes the connection to the bus, if any.
func (n *NetworkManager) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}
