package systemd

import (
	"bytes"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/busconn"
	"github.com/snapm/snapm-timersd/service/timers"
)

// Foreign, a busconn.Filter, takes away systemd's signals about units that
// are not ours before godbus decodes them. The follower's match rules keep
// most of them from being sent at all, but past maxNarrow timers (or when
// the bus refuses a rule) every unit's come, a score for each unit that
// starts or stops anywhere on the host; decoding them in full only to drop
// them cost the daemon 35% of systemd's own CPU while unrelated units
// churned.
//
// A message is taken only when its header (and, for JobRemoved, the unit
// name that opens its body) proves it is one of those signals and names a
// unit that is neither a timer of ours nor its service. The test is the
// name, not the timers known, so a timer someone adds while the daemon
// runs is never taken. It allocates nothing for the units it takes.
func Foreign(msg *busconn.Message) bool {
	if msg.Type != dbus.TypeSignal {
		return false
	}
	switch {
	case string(msg.Interface) == propsIface && string(msg.Member) == "PropertiesChanged" && bytes.HasPrefix(msg.Path, []byte(unitPrefix)):
		// Every unit of ours escapes to a label that starts so.
		if !bytes.HasPrefix(msg.Path[len(unitPrefix):], []byte("snapm_2d")) {
			return true
		}
		unit, ok := unitFromPath(dbus.ObjectPath(msg.Path))
		return !ok || !ours(unit)
	case string(msg.Interface) == managerIface && string(msg.Member) == "JobRemoved":
		body := busconn.Wire{B: msg.Body, Order: msg.Order}
		body.Pos = 4 // the job's id
		body.String()
		unit := body.String()
		return !body.Bad && !(bytes.HasPrefix(unit, []byte("snapm-")) && ours(string(unit)))
	}
	return false
}

// ours: a timer of ours or the service it triggers.
func ours(unit string) bool {
	_, timer := timers.ParseUnit(unit)
	_, service := timers.ParseServiceUnit(unit)
	return timer || service
}
