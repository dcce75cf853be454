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
	manager, timerIface introspect.Interface
}

func newIntrospector() (introspector, error) {
	m, err := introspection.Interface(introspection.Manager)
	if err != nil {
		return introspector{}, err
	}
	t, err := introspection.Interface(introspection.Timer)
	if err != nil {
		return introspector{}, err
	}
	return introspector{manager: m, timerIface: t}, nil
}

// signatures maps every method we serve to the signature of its in
// arguments; member names are unique across our interfaces.
func (i introspector) signatures() map[string]string {
	out := map[string]string{}
	for _, iface := range append([]introspect.Interface{i.manager, i.timerIface, objectManagerData}, standard...) {
		for _, m := range iface.Methods {
			var sig strings.Builder
			for _, a := range m.Args {
				if a.Direction != "out" {
					sig.WriteString(a.Type)
				}
			}
			out[m.Name] = sig.String()
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
