package sysns

import (
	"sync"

	"github.com/godbus/dbus/v5"
)

// ReloadCounter counts the daemon-reloads systemd finishes, from its own
// Reloading signals; in the namespace only the daemon asks for them.
type ReloadCounter struct {
	mu sync.Mutex
	n  int
}

// CountReloads starts counting on conn. It stops when conn closes.
func CountReloads(conn *dbus.Conn) (*ReloadCounter, error) {
	const manager = "org.freedesktop.systemd1.Manager"
	if err := conn.AddMatchSignal(dbus.WithMatchSender("org.freedesktop.systemd1"),
		dbus.WithMatchInterface(manager), dbus.WithMatchMember("Reloading")); err != nil {
		return nil, err
	}
	ch := make(chan *dbus.Signal, 64)
	conn.Signal(ch)
	c := &ReloadCounter{}
	go func() {
		for sig := range ch {
			if sig.Name != manager+".Reloading" {
				continue
			}
			if starting, _ := sig.Body[0].(bool); !starting {
				c.mu.Lock()
				c.n++
				c.mu.Unlock()
			}
		}
	}()
	return c, nil
}

// Count is the number of reloads finished so far.
func (c *ReloadCounter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
