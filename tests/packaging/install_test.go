package packaging

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

const busName = "com.redhat.Snapm.Timers"

// A system whose only files of the project are those `make install`
// installs, to the places a distribution uses (units in
// /usr/lib/systemd/system, bus policy and activation file under
// /usr/share), starts the daemon by D-Bus activation on the first call,
// and the daemon drives a timer through its whole life. snapm's template
// units come from INSTALL_TEMPLATES=1, as snapm's own package would put
// them there.
func TestInstalledSystemActivatesAndServes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("boots systemd in a namespace: needs root")
	}
	dest := makeInstall(t, "INSTALL_TEMPLATES=1")
	opts, skipped, err := sysns.InstalledOptions(dest)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("not needed to run the service: %s", strings.Join(skipped, " "))
	for tree, file := range map[string]string{
		"libexec": "snapm-timersd", "lib-sd": "snapm-timersd.service", "dbus-share-system.d": "com.redhat.Snapm.Timers.conf",
		"system-services": "com.redhat.Snapm.Timers.service", "polkit-actions": "com.redhat.snapm.timers.policy",
	} {
		if opts.Files[tree][file] == nil {
			t.Fatalf("make install did not install %s where %s needs it", file, tree)
		}
	}
	ns, err := sysns.Boot(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := func(argv ...string) string {
		t.Helper()
		out, err := ns.Output(ctx, argv...)
		if err != nil {
			journal, _ := ns.Output(ctx, "journalctl", "--no-pager", "-u", "snapm-timersd.service")
			t.Fatalf("%v\njournal of snapm-timersd:\n%s", err, journal)
		}
		return strings.TrimSpace(out)
	}
	if state, _ := ns.Output(ctx, "systemctl", "is-active", "snapm-timersd.service"); strings.TrimSpace(state) != "inactive" {
		t.Fatalf("snapm-timersd.service is %q before any call, want inactive", state)
	}

	const manager, timer = "/com/redhat/Snapm/Timers", "/com/redhat/Snapm/Timers/create/pkg"
	// A timer belongs to a schedule: the one snapm would have written.
	if err := ns.WriteSchedule("pkg", "*:0/5"); err != nil {
		t.Fatal(err)
	}
	sh("busctl", "call", busName, manager, busName+".Manager", "CreateTimer", "sss", "create", "pkg", "*:0/5")
	if exec := sh("systemctl", "show", "-P", "ExecStart", "snapm-timersd.service"); !strings.Contains(exec, "path=/usr/libexec/snapm-timersd ") {
		t.Errorf("the activated service runs %s, want the installed /usr/libexec/snapm-timersd", exec)
	}
	sh("busctl", "call", busName, timer, busName+".Timer", "Enable")
	sh("busctl", "call", busName, timer, busName+".Timer", "Start")
	if got := sh("busctl", "get-property", busName, timer, busName+".Timer", "Status"); got != `s "running"` {
		t.Errorf("Status after Enable and Start = %s, want running", got)
	}
	if got := sh("systemctl", "is-active", "snapm-create@pkg.timer"); got != "active" {
		t.Errorf("systemd has snapm-create@pkg.timer %s, want active", got)
	}
	if got := sh("systemctl", "show", "-P", "TimersCalendar", "snapm-create@pkg.timer"); !strings.Contains(got, "OnCalendar=*-*-* *:00/5:00") {
		t.Errorf("systemd's calendar of snapm-create@pkg.timer = %q, want the drop-in's *:0/5", got)
	}
	introspected := sh("gdbus", "introspect", "--system", "--dest", busName, "--object-path", timer) + "\n" +
		sh("gdbus", "introspect", "--system", "--dest", busName, "--object-path", manager)
	sh("busctl", "call", busName, timer, busName+".Timer", "Stop")
	sh("busctl", "call", busName, timer, busName+".Timer", "Disable")
	if got := sh("busctl", "get-property", busName, timer, busName+".Timer", "Status"); got != `s "disabled"` {
		t.Errorf("Status after Stop and Disable = %s, want disabled", got)
	}
	sh("busctl", "call", busName, manager, busName+".Manager", "RemoveTimer", "o", timer)
	if _, err := os.Stat(ns.UnitDirPath("snapm-create@pkg.timer.d")); !os.IsNotExist(err) {
		t.Errorf("the drop-in directory is still there after Disable and RemoveTimer: %v", err)
	}

	// The manual's shell examples, run as written and in its order, print
	// what it shows (times aside).
	examples := shellExamples(t)
	runShell := func(afterPython bool) {
		for _, ex := range examples {
			if ex.afterPython != afterPython {
				continue
			}
			got := sh("sh", "-c", ex.command)
			if maskTimes(got) != maskTimes(ex.output) {
				t.Errorf("the example\n%s\nprints\n%s\nbut com.redhat.Snapm.Timers(5) shows\n%s", ex.command, got, ex.output)
			}
		}
	}
	runShell(false)

	// And its Python example lists the timer the shell examples left.
	// It watches forever; all but its main loop runs here.
	script, ok := strings.CutSuffix(strings.TrimSpace(pythonExample(t)), "GLib.MainLoop().run()")
	if !ok {
		t.Fatalf("the Python example of %s no longer ends in GLib.MainLoop().run()", apiPage)
	}
	out, err := ns.Command(ctx, "/usr/bin/python3", "-c", script).CombinedOutput()
	if err != nil {
		t.Errorf("the Python example of %s: %v", apiPage, err)
	}
	if want := "/com/redhat/Snapm/Timers/create/nightly snapm-create@nightly.timer running\n"; !strings.Contains(string(out), want) {
		t.Errorf("the Python example of com.redhat.Snapm.Timers(5) printed\n%s\nwant the line %q", out, want)
	}
	runShell(true)

	// The installed API manual shows each of our interfaces as the running
	// daemon serves it.
	page, err := os.ReadFile(filepath.Join(dest, "usr/share/man/man5/com.redhat.Snapm.Timers.5"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range interfaceBlocks(introspected) {
		if !strings.Contains(normalizeValues(string(page)), normalizeValues(block)) {
			t.Errorf("the installed com.redhat.Snapm.Timers(5) does not show the interface as served:\n%s", block)
		}
	}
}

// interfaceBlocks cuts our interfaces out of gdbus introspect's output.
func interfaceBlocks(out string) []string {
	blocks := regexp.MustCompile(`(?ms)^(?:  @[^\n]*\n)*  interface com\.redhat\.[^\n]*\{\n.*?^  \};\n`).FindAllString(out, -1)
	if len(blocks) == 0 {
		return []string{"(gdbus introspect showed none of our interfaces)\n" + out}
	}
	return blocks
}

// normalizeValues blanks property values, which the page cannot know,
// and drops the empty sections gdbus prints.
func normalizeValues(s string) string {
	s = regexp.MustCompile(`(?m)^(\s+\w+ \S+ \w+) = .*;$`).ReplaceAllString(s, "$1 = ...;")
	return regexp.MustCompile(`(?m)^    \w+:\n(    \w+:|  \};)`).ReplaceAllString(s, "$1")
}

// `make uninstall` removes every file `make install` installed and
// nothing else: files of others in the same directories stay, and so do
// snapm's template units unless they were installed on request.
func TestUninstallRemovesExactlyWhatInstallInstalled(t *testing.T) {
	for name, tc := range map[string]struct {
		install, uninstall []string
		remain             []string
	}{
		"default": {},
		"templates installed and removed on request": {
			install: []string{"INSTALL_TEMPLATES=1"}, uninstall: []string{"INSTALL_TEMPLATES=1"},
		},
		"templates installed, kept by a plain uninstall": {
			install: []string{"INSTALL_TEMPLATES=1"},
			remain: []string{"/usr/lib/systemd/system/snapm-create@.service", "/usr/lib/systemd/system/snapm-create@.timer",
				"/usr/lib/systemd/system/snapm-gc@.service", "/usr/lib/systemd/system/snapm-gc@.timer"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			dest := makeInstall(t, tc.install...)
			installed := files(t, dest)
			if len(installed) < 9 {
				t.Fatalf("make install installed only %q", installed)
			}
			// Someone else's files beside ours.
			var others []string
			for _, f := range installed {
				other := filepath.Join(filepath.Dir(f), "zz-other-package")
				if err := os.WriteFile(filepath.Join(dest, other), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				others = append(others, other)
			}
			run(t, nil, append([]string{"make", "-s", "uninstall", "DESTDIR=" + dest}, tc.uninstall...)...)
			want := uniqueSorted(append(others, tc.remain...))
			if got := files(t, dest); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("after make uninstall:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// files lists what is under dest, directories left out, as absolute
// paths of the installed system.
func files(t *testing.T, dest string) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			list = append(list, strings.TrimPrefix(p, dest))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(list)
	return list
}

func uniqueSorted(list []string) []string {
	sort.Strings(list)
	return slices.Compact(list)
}

// Every manual snapm-timersd.service names in Documentation= is one
// `make install` installs, so `systemctl help snapm-timersd` finds it.
func TestUnitDocumentationIsInstalled(t *testing.T) {
	dest := makeInstall(t)
	unit, err := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system/snapm-timersd.service"))
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`man:([\w.@-]+)\((\d)\)`).FindAllStringSubmatch(string(unit), -1)
	if len(refs) == 0 {
		t.Fatal("snapm-timersd.service names no manual in Documentation=")
	}
	for _, r := range refs {
		page := filepath.Join(dest, "usr/share/man", "man"+r[2], r[1]+"."+r[2])
		if _, err := os.Stat(page); err != nil {
			t.Errorf("Documentation= names %s, which make install does not install: %v", r[0], err)
		}
	}
}

// example is a shell command of the manual with the output it shows;
// afterPython is set for those the manual gives after its Python example,
// which watches what the ones before it left.
type example struct {
	command, output string
	afterPython     bool
}

// shellExamples are the commands ("# " or "$ " prompts, "\\" continuing
// them) in the fenced blocks of the API manual's EXAMPLES, each with the
// output shown after it.
func shellExamples(t *testing.T) []example {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, apiPage))
	if err != nil {
		t.Fatal(err)
	}
	var examples []example
	inBlock, continued, blockStart, afterPython := false, false, 0, false
	for _, line := range section(strings.Split(string(data), "\n"), "# EXAMPLES") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock, continued, blockStart = !inBlock, false, len(examples)
		case !inBlock:
		case continued:
			examples[len(examples)-1].command += "\n" + line
		case strings.HasPrefix(line, "import "):
			afterPython = true
		case strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "$ "):
			examples = append(examples, example{command: line[2:], afterPython: afterPython})
		case len(examples) > blockStart:
			last := &examples[len(examples)-1]
			last.output = strings.TrimPrefix(last.output+"\n"+line, "\n")
		}
		continued = inBlock && len(examples) > 0 && strings.HasSuffix(line, "\\")
	}
	if len(examples) < 5 {
		t.Fatalf("%s: found %d shell examples under # EXAMPLES, want the busctl and gdbus ones", apiPage, len(examples))
	}
	return examples
}

func maskTimes(s string) string {
	return regexp.MustCompile(`\d{10,}`).ReplaceAllString(strings.TrimSpace(s), "TIME")
}

// pythonExample is the fenced block under EXAMPLES that starts "import".
func pythonExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, apiPage))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(strings.Join(section(strings.Split(string(data), "\n"), "# EXAMPLES"), "\n"), "```") {
		if strings.HasPrefix(strings.TrimSpace(block), "import ") {
			return block
		}
	}
	t.Fatalf("%s has no Python example under # EXAMPLES", apiPage)
	return ""
}
