// Package apiblock renders the interface XML as the introspection-style
// block of systemd's D-Bus API pages, and finds where a manual asks for one.
package apiblock

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5/introspect"
)

// Load reads every interface defined in dir/*.xml, by name.
func Load(dir string) (map[string]introspect.Interface, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no interface XML in %s", dir)
	}
	ifaces := map[string]introspect.Interface{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var node introspect.Node
		if err := xml.Unmarshal(data, &node); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, iface := range node.Interfaces {
			ifaces[iface.Name] = iface
		}
	}
	return ifaces, nil
}

// Directive reports whether line asks for a block: "@introspect PATH IFACE...".
func Directive(line string) (path string, ifaces []string, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 3 || fields[0] != "@introspect" {
		return "", nil, false
	}
	return fields[1], fields[2:], true
}

// standard ends every block: what godbus (and sd-bus) serve on each object.
var standard = []string{"org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties"}

// Render is the fenced block of the object at path with the named
// interfaces: those in ifaces in full, others (standard ones) folded.
func Render(ifaces map[string]introspect.Interface, path string, names []string) (string, error) {
	var b strings.Builder
	b.WriteString("```\n")
	fmt.Fprintf(&b, "$ gdbus introspect --system --dest com.redhat.Snapm.Timers \\\n        --object-path %s\n\n", path)
	fmt.Fprintf(&b, "node %s {\n", path)
	for _, name := range slices.Concat(names, standard) {
		iface, ok := ifaces[name]
		if !ok {
			if !strings.HasPrefix(name, "org.freedesktop.DBus.") {
				return "", fmt.Errorf("interface %s is in no XML file", name)
			}
			fmt.Fprintf(&b, "  interface %s { ... };\n", name)
			continue
		}
		writeInterface(&b, iface)
	}
	b.WriteString("};\n```\n")
	return b.String(), nil
}

func writeInterface(b *strings.Builder, iface introspect.Interface) {
	annotations(b, "  ", iface.Annotations)
	fmt.Fprintf(b, "  interface %s {\n", iface.Name)
	if len(iface.Methods) > 0 {
		b.WriteString("    methods:\n")
		for _, m := range iface.Methods {
			annotations(b, "      ", m.Annotations)
			member(b, m.Name, m.Args, true)
		}
	}
	if len(iface.Signals) > 0 {
		b.WriteString("    signals:\n")
		for _, s := range iface.Signals {
			annotations(b, "      ", s.Annotations)
			member(b, s.Name, s.Args, false)
		}
	}
	if len(iface.Properties) > 0 {
		b.WriteString("    properties:\n")
		for _, p := range iface.Properties {
			annotations(b, "      ", p.Annotations)
			fmt.Fprintf(b, "      %s %s %s = %s;\n", access(p.Access), p.Type, p.Name, placeholder(p.Type))
		}
	}
	b.WriteString("  };\n")
}

// member writes "Name(in  s a,\n     out o b);" aligned as gdbus does.
func member(b *strings.Builder, name string, args []introspect.Arg, directed bool) {
	fmt.Fprintf(b, "      %s(", name)
	indent := strings.Repeat(" ", 6+len(name)+1)
	for i, a := range args {
		if i > 0 {
			b.WriteString(",\n" + indent)
		}
		if directed {
			dir := a.Direction
			if dir == "" {
				dir = "in"
			}
			fmt.Fprintf(b, "%-3s ", dir)
		}
		fmt.Fprintf(b, "%s %s", a.Type, a.Name)
	}
	b.WriteString(");\n")
}

func annotations(b *strings.Builder, indent string, as []introspect.Annotation) {
	for _, a := range as {
		fmt.Fprintf(b, "%s@%s(\"%s\")\n", indent, a.Name, a.Value)
	}
}

func access(a string) string {
	switch a {
	case "readwrite":
		return "readwrite"
	case "write":
		return "writeonly"
	}
	return "readonly"
}

func placeholder(signature string) string {
	switch signature {
	case "s", "o", "g":
		return "'...'"
	}
	if strings.HasPrefix(signature, "a") {
		return "[...]"
	}
	return "..."
}
