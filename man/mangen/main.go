// Command mangen prepares a manual's Markdown source for go-md2man: it
// replaces each line
//
//	@introspect OBJECT-PATH INTERFACE...
//
// with the introspection-style block of that object (the form of
// `gdbus introspect`, as systemd's org.freedesktop.*(5) pages show it),
// built from the interface XML, so the page cannot drift from what the
// daemon serves; and @VERSION@ with the version. Interfaces defined in the
// XML directory are listed in full; others (the standard org.freedesktop.DBus
// ones) as "{ ... }", and Peer, Introspectable and Properties end every block.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/snapm/snapm-timersd/man/mangen/apiblock"
)

func main() {
	xmlDir := flag.String("xml", "introspection-xml", "directory of the interface XML")
	version := flag.String("version", "", "replaces @VERSION@")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *xmlDir, *version); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, xmlDir, version string) error {
	ifaces, err := apiblock.Load(xmlDir)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if path, names, ok := apiblock.Directive(line); ok {
			block, err := apiblock.Render(ifaces, path, names)
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			w.WriteString(block)
			continue
		}
		w.WriteString(strings.ReplaceAll(line, "@VERSION@", version) + "\n")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return w.Flush()
}
