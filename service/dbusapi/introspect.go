package dbusapi

import (
	"encoding/xml"
	"strings"

	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/timers"
)

var objectManagerData = introspect.Interface{
	Name: objectManagerIface,
	Methods: []introspect.Method{{Name: "GetManagedObjects", Args: []introspect.Arg{
		{Name: "objects", Type: "a{oa{sa{sv}}}", Direction: "out"}}}},
	Signals: []introspect.Signal{
		{Name: "InterfacesAdded", Args: []introspect.Arg{{Name: "object", Type: "o"}, {Name: "interfaces", Type: "a{sa{sv}}"}}},
		{Name: "InterfacesRemoved", Args: []introspect.Arg{{Name: "object", Type: "o"}, {Name: "interfaces", Type: "as"}}},
	},
}

// introspector renders introspection XML from the interface files.
type introspector struct {
	manager, timerIface, scheduleIface introspect.Interface
}

func newIntrospector() (introspector, error) {
	var i introspector
	for _, x := range []struct {
		name  string
		iface *introspect.Interface
	}{{introspection.Manager, &i.manager}, {introspection.Timer, &i.timerIface}, {introspection.Schedule, &i.scheduleIface}} {
		var err error
		if *x.iface, err = introspection.Interface(x.name); err != nil {
			return introspector{}, err
		}
	}
	return i, nil
}

// signatures maps every method we serve, as INTERFACE.MEMBER, to the
// signature of its in arguments: Timer and Schedule share member names.
func (i introspector) signatures() map[string]string {
	out := map[string]string{}
	for _, iface := range append([]introspect.Interface{i.manager, i.timerIface, i.scheduleIface, objectManagerData}, standard...) {
		for _, m := range iface.Methods {
			var sig strings.Builder
			for _, a := range m.Args {
				if a.Direction != "out" {
					sig.WriteString(a.Type)
				}
			}
			out[iface.Name+"."+m.Name] = sig.String()
		}
	}
	return out
}

var standard = []introspect.Interface{introspect.IntrospectData, introspect.PeerData, prop.IntrospectData}

func render(n introspect.Node) string {
	out, _ := xml.MarshalIndent(n, "", " ")
	return introspect.IntrospectDeclarationString + string(out)
}

func (i introspector) root() string {
	var children []introspect.Node
	for _, t := range timers.Types {
		children = append(children, introspect.Node{Name: string(t)})
	}
	children = append(children, introspect.Node{Name: scheduleNode})
	return render(introspect.Node{
		Interfaces: append(append([]introspect.Interface{}, standard...), objectManagerData, i.manager),
		Children:   children,
	})
}

func (i introspector) typeNode(labels []string) string {
	n := introspect.Node{Interfaces: standard}
	for _, l := range labels {
		n.Children = append(n.Children, introspect.Node{Name: l})
	}
	return render(n)
}

func (i introspector) timer() string {
	return render(introspect.Node{Interfaces: append(append([]introspect.Interface{}, standard...), i.timerIface)})
}

func (i introspector) schedule() string {
	return render(introspect.Node{Interfaces: append(append([]introspect.Interface{}, standard...), i.scheduleIface)})
}
