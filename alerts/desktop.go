package alerts

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/godbus/dbus/v5"
)

// Desktop shows each Alert as a desktop notification through
// org.freedesktop.Notifications on the session's D-Bus; a resolved alert
// replaces the notification of its opening when that is still shown.
type Desktop struct {
	Address string // the session bus; SessionBus() when ""

	mu  sync.Mutex
	ids map[string]uint32 // the notification shown for each cause open
}

// SessionBus returns the address of the session's D-Bus
// (DBUS_SESSION_BUS_ADDRESS, else /run/user/UID/bus when it exists), or
// "" when there is none: no one to show a notification to.
func SessionBus() string {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a
	}
	p := "/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"
	if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
		return "unix:path=" + p
	}
	return ""
}

// Name implements Sender.
func (d *Desktop) Name() string { return "desktop" }

// Send implements Sender. It connects for each alert: alerts are rare,
// and the session bus may come and go with the person's login.
func (d *Desktop) Send(ctx context.Context, a Alert) error {
	addr := d.Address
	if addr == "" {
		addr = SessionBus()
	}
	if addr == "" {
		return fmt.Errorf("desktop notification: no session D-Bus")
	}
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("desktop notification: %w", err)
	}
	defer conn.Close()
	d.mu.Lock()
	replaces := d.ids[a.Cause]
	d.mu.Unlock()
	urgency := byte(2) // critical: stays until read
	if a.State == StateResolved {
		urgency = 1
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		"cloudkeep", replaces, "dialog-warning", a.Title(), a.Text(), []string{},
		map[string]dbus.Variant{"urgency": dbus.MakeVariant(urgency)}, int32(-1))
	var id uint32
	if err := call.Store(&id); err != nil {
		return fmt.Errorf("desktop notification: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = map[string]uint32{}
	}
	if a.State == StateOpen {
		d.ids[a.Cause] = id
	} else {
		delete(d.ids, a.Cause)
	}
	return nil
}
