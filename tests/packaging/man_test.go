package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/man/mangen/apiblock"
)

const apiPage = "man/com.redhat.Snapm.Timers.5.md"

// Every manual `make` builds renders without a warning from man(1) at
// the usual terminal width, and says something.
func TestManualsRenderWithoutWarnings(t *testing.T) {
	run(t, nil, "make", "-s", "man")
	sources, _ := filepath.Glob(filepath.Join(root, "man", "*.md"))
	if len(sources) < 2 {
		t.Fatalf("man/ has %d manuals, want at least snapm-timersd.8 and com.redhat.Snapm.Timers.5", len(sources))
	}
	for _, src := range sources {
		page := filepath.Join(root, "build", "man", strings.TrimSuffix(filepath.Base(src), ".md"))
		cmd := exec.Command("man", "--warnings", "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings -l %s: %v\n%s", page, err, stderr.String())
		}
		if len(bytes.Fields(out)) < 100 {
			t.Errorf("%s renders to %d words", page, len(bytes.Fields(out)))
		}
	}
}

// Every method, property and signal of the interface XML, and every error
// the daemon returns, has its prose in com.redhat.Snapm.Timers(5): a
// definition "**Member**..." followed by ": text", under the block of its
// interface. A member added to the XML fails here until it is described.
func TestAPIPageDescribesEveryMember(t *testing.T) {
	ifaces, err := apiblock.Load(filepath.Join(root, "introspection-xml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, apiPage))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for name, iface := range ifaces {
		scope := interfaceScope(lines, name)
		if scope == nil {
			t.Errorf("%s: no line \"@introspect PATH %s\": the interface has no block, so its members no prose", apiPage, name)
			continue
		}
		var members []string
		for _, m := range iface.Methods {
			members = append(members, "method "+m.Name)
		}
		for _, s := range iface.Signals {
			members = append(members, "signal "+s.Name)
		}
		for _, p := range iface.Properties {
			members = append(members, "property "+p.Name)
		}
		for _, m := range members {
			kind, member, _ := strings.Cut(m, " ")
			if !defined(scope, member) {
				t.Errorf("%s %s.%s has no prose in %s: add \"**%s**...\" and a line \": what it does\" after \"@introspect ... %s\"",
					kind, name, member, apiPage, member, name)
			}
		}
	}
	errorsSection := section(lines, "# ERRORS")
	for _, e := range daemonErrors(t) {
		if !defined(errorsSection, e) {
			t.Errorf("error %s has no prose in %s: add \"**%s**\" and a line \": when it happens\" under # ERRORS", e, apiPage, e)
		}
	}
}

// interfaceScope is the part of the page from the block of iface to the
// next block or top-level heading.
func interfaceScope(lines []string, iface string) []string {
	for i, l := range lines {
		_, names, ok := apiblock.Directive(l)
		if !ok || !contains(names, iface) {
			continue
		}
		end := i + 1
		for ; end < len(lines); end++ {
			if _, _, next := apiblock.Directive(lines[end]); next || strings.HasPrefix(lines[end], "# ") {
				break
			}
		}
		return lines[i+1 : end]
	}
	return nil
}

// section is the part of the page under a top-level heading; a "# " in a
// fenced block is a shell prompt, not a heading.
func section(lines []string, heading string) []string {
	for i, l := range lines {
		if l != heading {
			continue
		}
		end, fenced := i+1, false
		for ; end < len(lines) && (fenced || !strings.HasPrefix(lines[end], "# ")); end++ {
			if strings.HasPrefix(lines[end], "```") {
				fenced = !fenced
			}
		}
		return lines[i+1 : end]
	}
	return nil
}

// defined reports a definition of name: a term line starting "**name**"
// whose next line is ": " and at least three words.
func defined(lines []string, name string) bool {
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "**"+name+"**") && strings.HasPrefix(lines[i+1], ": ") &&
			len(strings.Fields(lines[i+1])) > 3 {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// daemonErrors are the error names the daemon's D-Bus surface declares as
// its own or exports, read from its one mapping of errors.
func daemonErrors(t *testing.T) []string {
	src, err := os.ReadFile(filepath.Join(root, "service", "dbusapi", "errors.go"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`ErrorPrefix\s*=\s*"([\w.]+)"`).FindSubmatch(src)
	if prefix == nil {
		t.Fatal("service/dbusapi/errors.go: no ErrorPrefix")
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s*Err\w+\s*=\s*(?:ErrorPrefix \+ "(\w+)"|"([\w.]+)")`).FindAllSubmatch(src, -1) {
		if len(m[1]) > 0 {
			names = append(names, string(prefix[1])+string(m[1]))
		} else {
			names = append(names, string(m[2]))
		}
	}
	if len(names) < 8 {
		t.Fatalf("service/dbusapi/errors.go: found only %d error names: %q", len(names), names)
	}
	return names
}

// The generated blocks in the built page show every member of the XML
// with its signature: the build, not a hand, wrote them.
func TestAPIPageBlocksListEveryMember(t *testing.T) {
	run(t, nil, "make", "-s", "man")
	page, err := os.ReadFile(filepath.Join(root, "build", "man", "com.redhat.Snapm.Timers.5"))
	if err != nil {
		t.Fatal(err)
	}
	ifaces, err := apiblock.Load(filepath.Join(root, "introspection-xml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	for name, iface := range ifaces {
		if !strings.Contains(text, "interface "+name+" {\n") {
			t.Errorf("the built page has no block of interface %s", name)
		}
		for _, m := range iface.Methods {
			if !strings.Contains(text, "  "+m.Name+"(") {
				t.Errorf("the built page's block lacks method %s.%s", name, m.Name)
			}
		}
		for _, s := range iface.Signals {
			if !strings.Contains(text, "  "+s.Name+"(") {
				t.Errorf("the built page's block lacks signal %s.%s", name, s.Name)
			}
		}
		for _, p := range iface.Properties {
			if !strings.Contains(text, fmt.Sprintf(" %s %s = ", p.Type, p.Name)) {
				t.Errorf("the built page's block lacks property %s.%s", name, p.Name)
			}
		}
	}
}
