// Package dbuspolicy says which methods of com.redhat.Snapm.Timers are
// open to every caller: the bus policy beside it lets them through, and the
// daemon answers them without asking polkit. Every other method of the
// interfaces in introspection-xml/ changes something: the policy lets it
// through too, and the daemon asks polkit. Tests hold the policy, the
// introspection XML and the daemon to this list.
package dbuspolicy

// OpenToAll lists the open methods as interface.member.
var OpenToAll = []string{
	"org.freedesktop.DBus.Introspectable.Introspect",
	"org.freedesktop.DBus.Peer.Ping",
	"org.freedesktop.DBus.Peer.GetMachineId",
	"org.freedesktop.DBus.Properties.Get",
	"org.freedesktop.DBus.Properties.GetAll",
	"org.freedesktop.DBus.ObjectManager.GetManagedObjects",
	"com.redhat.Snapm.Timers.Manager.GetSchedule",
	"com.redhat.Snapm.Timers.Manager.ListSchedules",
	"com.redhat.Snapm.Timers.Manager.GetTimer",
	"com.redhat.Snapm.Timers.Manager.ListTimers",
	"com.redhat.Snapm.Timers.Manager.ParseCalendar",
	"com.redhat.Snapm.Timers.Manager.ParseCalendarAt",
}
