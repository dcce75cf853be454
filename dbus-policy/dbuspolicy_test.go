package dbuspolicy

import (
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
)

const busName = "com.redhat.Snapm.Timers"

// rule is one <allow> or <deny> of a busconfig policy.
type rule struct {
	Own             string `xml:"own,attr"`
	SendDestination string `xml:"send_destination,attr"`
	SendInterface   string `xml:"send_interface,attr"`
	SendMember      string `xml:"send_member,attr"`
}

type busconfig struct {
	Policies []struct {
		User    string `xml:"user,attr"`
		Context string `xml:"context,attr"`
		Allow   []rule `xml:"allow"`
		Deny    []rule `xml:"deny"`
	} `xml:"policy"`
}

// standard are the interfaces godbus serves beside ours, with their
// methods.
var standard = map[string][]string{
	"org.freedesktop.DBus.Introspectable": {"Introspect"},
	"org.freedesktop.DBus.Peer":           {"Ping", "GetMachineId"},
	"org.freedesktop.DBus.Properties":     {"Get", "GetAll", "Set"},
	"org.freedesktop.DBus.ObjectManager":  {"GetManagedObjects"},
}

// methods lists every method of our interfaces and, in all, with the
// standard ones.
func methods(t *testing.T) (ours, all []string) {
	ours, err := introspection.Methods()
	if err != nil || len(ours) == 0 {
		t.Fatalf("no methods in the introspection XML (%v)", err)
	}
	all = slices.Clone(ours)
	for iface, members := range standard {
		for _, m := range members {
			all = append(all, iface+"."+m)
		}
	}
	return ours, all
}

// allowed tells whether the default context lets any caller send
// iface.member to the daemon, as dbus-daemon decides it: the last rule
// that matches wins.
func allowed(cfg busconfig, iface, member string) bool {
	verdict := false
	for _, p := range cfg.Policies {
		if p.Context != "default" {
			continue
		}
		// dbus-daemon applies a policy's rules in order; this file puts
		// its denies (none today) before its allows, as checked below.
		for _, r := range p.Deny {
			if matches(r, iface, member) {
				verdict = false
			}
		}
		for _, r := range p.Allow {
			if matches(r, iface, member) {
				verdict = true
			}
		}
	}
	return verdict
}

func matches(r rule, iface, member string) bool {
	return r.SendDestination == busName && (r.SendInterface == "" || r.SendInterface == iface) &&
		(r.SendMember == "" || r.SendMember == member)
}

func readPolicy(t *testing.T) busconfig {
	data, err := os.ReadFile("com.redhat.Snapm.Timers.conf")
	if err != nil {
		t.Fatal(err)
	}
	var cfg busconfig
	if err := xml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPolicyCoversEveryMethod: every method the XML declares reaches the
// daemon from any caller (the daemon itself asks polkit about changes): a
// method added to the XML and forgotten in the policy fails here, not in
// the hands of a user refused by the bus.
func TestPolicyCoversEveryMethod(t *testing.T) {
	cfg := readPolicy(t)
	ours, all := methods(t)
	for _, m := range ours {
		iface, member := split(m)
		if !allowed(cfg, iface, member) {
			t.Errorf("%s is declared in introspection-xml/ but the bus policy refuses it to everyone but root", m)
		}
	}
	for _, m := range OpenToAll {
		if !slices.Contains(all, m) {
			t.Errorf("OpenToAll lists %s, which no interface declares", m)
			continue
		}
		if iface, member := split(m); !allowed(cfg, iface, member) {
			t.Errorf("%s is open to all, but the bus policy refuses it", m)
		}
	}
	for _, p := range cfg.Policies {
		if p.Context == "default" && len(p.Deny) > 0 {
			t.Errorf("the default policy has <deny> rules; allowed() does not model their order with <allow>")
		}
		for _, r := range p.Allow {
			if r.SendMember != "" && !slices.Contains(all, r.SendInterface+"."+r.SendMember) {
				t.Errorf("the bus policy allows %s.%s, which no interface declares", r.SendInterface, r.SendMember)
			}
		}
	}
	// Properties are read-only: no one but root may even try to set one.
	if allowed(cfg, "org.freedesktop.DBus.Properties", "Set") {
		t.Error("the bus policy lets everyone call Properties.Set")
	}
}

// TestOnlyRootOwnsTheName: the name is root's alone.
func TestOnlyRootOwnsTheName(t *testing.T) {
	for _, p := range readPolicy(t).Policies {
		for _, r := range p.Allow {
			if r.Own != "" && (r.Own != busName || p.User != "root") {
				t.Errorf("the bus policy lets %q%s own %q", p.User, p.Context, r.Own)
			}
		}
	}
}

func split(m string) (iface, member string) {
	i := strings.LastIndexByte(m, '.')
	return m[:i], m[i+1:]
}
