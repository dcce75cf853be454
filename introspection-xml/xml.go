// Package introspection holds the D-Bus interface definitions of
// snapm-timersd: the XML files next to this one are the single source of
// truth, served by the daemon and installed to /usr/share/dbus-1/interfaces.
package introspection

import (
	"embed"
	"encoding/xml"
	"fmt"
	"io/fs"
	"strings"

	"github.com/godbus/dbus/v5/introspect"
)

//go:embed *.xml
var files embed.FS

// Interface names, as defined in the XML.
const (
	Manager  = "com.redhat.Snapm.Timers.Manager"
	Timer    = "com.redhat.Snapm.Timers.Timer"
	Schedule = "com.redhat.Snapm.Timers.Schedule"
)

// Interface returns the parsed definition of the named interface.
func Interface(name string) (introspect.Interface, error) {
	data, err := files.ReadFile(name + ".xml")
	if err != nil {
		return introspect.Interface{}, err
	}
	var node introspect.Node
	if err := xml.Unmarshal(data, &node); err != nil {
		return introspect.Interface{}, fmt.Errorf("%s.xml: %w", name, err)
	}
	for _, iface := range node.Interfaces {
		if iface.Name == name {
			return iface, nil
		}
	}
	return introspect.Interface{}, fmt.Errorf("%s.xml does not define %s", name, name)
}

// Methods lists every method of every interface the XML files define, as
// interface.member: what the bus policy must let through.
func Methods() ([]string, error) {
	names, err := fs.Glob(files, "*.xml")
	if err != nil {
		return nil, err
	}
	var methods []string
	for _, file := range names {
		iface, err := Interface(strings.TrimSuffix(file, ".xml"))
		if err != nil {
			return nil, err
		}
		for _, m := range iface.Methods {
			methods = append(methods, iface.Name+"."+m.Name)
		}
	}
	return methods, nil
}
