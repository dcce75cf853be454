package packaging

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapm/snapm-timersd/version"
)

const spec = "snapm-timersd.spec"

// Parts the spec packages only when the tree has them (they are built by
// default; the test passes --without for a part not there yet).
var optionalParts = map[string]string{"cli": "cmd/snapm-timersctl", "cockpit": "cockpit"}

// The spec parses, names the release's version, declares every vendored
// module that ships in a binary as bundled (and no other) and covers its
// license; rpmbuild builds it offline from
// `make dist`'s tarball (Debian's rpm, the Fedora-only macros from
// testdata/fedora.macros); the package holds exactly what `make install`
// installs, minus snapm's template units, which it requires instead.
func TestRPMBuildsFromDistTarball(t *testing.T) {
	macros := filepath.Join(root, "tests", "packaging", "testdata", "fedora.macros")
	rpmspec := func(args ...string) string {
		return run(t, nil, append([]string{"rpmspec", "--load", macros}, append(args, spec)...)...)
	}
	parsed := rpmspec("-P")
	// A macro Fedora defines and the test macros do not stays as text,
	// silently where it is a scriptlet.
	for _, m := range regexp.MustCompile(`%[{?!]*(\w+)`).FindAllStringSubmatch(parsed, -1) {
		if !slices.Contains(specDirectives, m[1]) {
			t.Errorf("%s: %s is left unexpanded: define it in testdata/fedora.macros as Fedora does", spec, m[0])
		}
	}
	version := version.Version
	if got := rpmspec("-q", "--srpm", "--qf", "%{version}"); got != version {
		t.Errorf("%s has Version %q, version.Version is %q", spec, got, version)
	}

	start := time.Now()
	run(t, nil, "make", "-s", "dist")
	tarball := filepath.Join(root, "build", fmt.Sprintf("snapm-timersd-%s.tar.gz", version))
	info, err := os.Stat(tarball)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("make dist: %s, %.1f MiB, in %s", filepath.Base(tarball), float64(info.Size())/(1<<20), time.Since(start).Round(time.Millisecond))
	vendor := readVendor(t, tarball, "snapm-timersd-"+version+"/vendor/")
	checkBundled(t, parsed, vendor, shippedModules(t))

	// Always the same build directory (one build at a time), so that Go's
	// cache, keyed on source paths, serves the packages of the last build;
	// it is removed afterwards, the lock file beside it stays.
	top := "/var/tmp/snapm-timersd-rpmbuild"
	lock, err := os.Create(top + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(top)
	defer os.RemoveAll(top)
	if err := os.MkdirAll(filepath.Join(top, "SOURCES"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tarball, filepath.Join(top, "SOURCES", filepath.Base(tarball))); err != nil {
		t.Fatal(err)
	}
	args := []string{"rpmbuild", "-bb", "--nodeps", "--load", macros, "--define", "_topdir " + top, "--without", "check"}
	var without []string
	for part, path := range optionalParts {
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			args = append(args, "--without", part)
			without = append(without, part)
		}
	}
	slices.Sort(without)
	start = time.Now()
	// No module proxy: the build must come from the tarball alone.
	_, state := runState(t, []string{"GOPROXY=off", "GOFLAGS=-mod=vendor"}, append(args, spec)...)
	t.Logf("rpmbuild -bb: %s, %s of CPU (parts not in the tree yet, left out: %q)", time.Since(start).Round(100*time.Millisecond),
		(state.UserTime() + state.SystemTime()).Round(100*time.Millisecond), without)

	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if len(rpms) == 0 {
		t.Fatal("rpmbuild wrote no package")
	}
	var packaged []string
	for _, rpm := range rpms {
		for _, line := range strings.Split(run(t, nil, "rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]", rpm), "\n") {
			perms, name, ok := strings.Cut(line, " ")
			if !ok || strings.HasPrefix(perms, "d") || packagingOnly(name) {
				continue
			}
			if strings.HasPrefix(name, "/usr/share/man/") {
				name = strings.TrimSuffix(name, ".gz")
			}
			packaged = append(packaged, name)
		}
	}
	slices.Sort(packaged)
	installed := files(t, makeInstall(t))
	if strings.Join(packaged, "\n") != strings.Join(installed, "\n") {
		t.Errorf("the packages hold:\n%s\n\nmake install installs:\n%s", strings.Join(packaged, "\n"), strings.Join(installed, "\n"))
	}
	for _, f := range packaged {
		if strings.Contains(f, "@.") {
			t.Errorf("the package owns %s: snapm's template units belong to snapm", f)
		}
	}
	main := rpms[slices.IndexFunc(rpms, func(p string) bool { return strings.HasPrefix(filepath.Base(p), "snapm-timersd-"+version) })]
	if requires := run(t, nil, "rpm", "-qp", "--requires", main); !regexp.MustCompile(`(?m)^snapm$`).MatchString(requires) {
		t.Errorf("%s does not require snapm, whose template units it uses:\n%s", filepath.Base(main), requires)
	}
	scripts := run(t, nil, "rpm", "-qp", "--scripts", main)
	for _, s := range []string{"postinstall", "preuninstall", "postuninstall"} {
		if !regexp.MustCompile(`(?s)` + s + ` scriptlet[^\n]*\n[^\n]*snapm-timersd\.service`).MatchString(scripts) {
			t.Errorf("%s has no %s scriptlet for snapm-timersd.service:\n%s", filepath.Base(main), s, scripts)
		}
	}
}

// specDirectives are what stays of a parsed spec that is not a macro.
var specDirectives = []string{"package", "description", "prep", "build", "install", "check", "files", "post", "preun",
	"postun", "changelog", "license", "doc", "dir", "config", "attr", "ghost"}

// packagingOnly: what a package has that `make install` does not: its
// license and doc files, and the build-id links rpm adds.
func packagingOnly(name string) bool {
	return strings.HasPrefix(name, "/usr/lib/.build-id/") || strings.HasPrefix(name, "/usr/share/licenses/snapm-timersd/") ||
		strings.HasPrefix(name, "/usr/share/doc/snapm-timersd")
}

// readVendor returns the vendor/ files of the tarball, by path under it.
func readVendor(t *testing.T, tarball, prefix string) map[string][]byte {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rel, ok := strings.CutPrefix(h.Name, prefix); ok && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[rel] = data
		}
	}
	if files["modules.txt"] == nil {
		t.Fatalf("%s has no %smodules.txt: the modules are not vendored", tarball, prefix)
	}
	return files
}

// licenses tells a license file's SPDX identifier by its wording.
var licenses = []struct {
	id    string
	words []string
	not   string
}{
	{"Apache-2.0", []string{"Apache License", "Version 2.0"}, ""},
	{"MIT", []string{"Permission is hereby granted, free of charge"}, ""},
	{"BSD-3-Clause", []string{"Redistribution and use", "Neither the name"}, ""},
	{"BSD-2-Clause", []string{"Redistribution and use"}, "Neither the name"},
	{"ISC", []string{"Permission to use, copy, modify, and/or distribute"}, ""},
	{"MPL-2.0", []string{"Mozilla Public License", "2.0"}, ""},
}

// pseudoVersion is a Go pseudo-version: base-timestamp-commit.
var pseudoVersion = regexp.MustCompile(`^(\d+\.\d+\.\d+)-(?:0\.)?(\d{14})-([0-9a-f]{12})$`)

// rpmVersion is a module version as RPM takes it: a pseudo-version's
// dashes are not allowed, so it is written as Fedora's Go packaging does,
// BASE^TIMESTAMPgCOMMIT.
func rpmVersion(v string) string {
	if m := pseudoVersion.FindStringSubmatch(v); m != nil {
		return m[1] + "^" + m[2] + "g" + m[3]
	}
	return v
}

// shippedModules are the modules, with their versions, of the packages the
// installed binaries link; the tests' own (chromedp, goleak) are vendored
// but ship in no package.
func shippedModules(t *testing.T) map[string]string {
	t.Helper()
	out := run(t, nil, "go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}",
		"./cmd/snapm-timersd", "./cmd/snapm-timersctl")
	shipped := map[string]string{}
	for _, line := range strings.Fields(strings.ReplaceAll(out, " ", "=")) {
		module, v, _ := strings.Cut(line, "=")
		shipped[module] = v
	}
	return shipped
}

// checkBundled holds the spec to what the binaries link, as vendored in
// vendor/modules.txt: a "Provides: bundled(golang(MODULE)) = VERSION" for
// each module shipped and for no other, and every shipped module's
// license in the License: expression.
func checkBundled(t *testing.T, parsed string, vendor map[string][]byte, shipped map[string]string) {
	t.Helper()
	license := regexp.MustCompile(`(?m)^License:\s*(.*)$`).FindStringSubmatch(parsed)
	if license == nil {
		t.Fatalf("%s has no License:", spec)
	}
	ids := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(license[1]))
	modules := regexp.MustCompile(`(?m)^# (\S+) v(\S+)$`).FindAllStringSubmatch(string(vendor["modules.txt"]), -1)
	if len(modules) == 0 {
		t.Fatal("vendor/modules.txt lists no module")
	}
	for _, p := range regexp.MustCompile(`(?m)^Provides:\s*bundled\(golang\((\S+)\)\)`).FindAllStringSubmatch(parsed, -1) {
		if _, ok := shipped[p[1]]; !ok {
			t.Errorf("%s provides bundled %s, which no installed binary links", spec, p[1])
		}
	}
	vendored := 0
	for _, m := range modules {
		module, version := m[1], rpmVersion(m[2])
		if v, ok := shipped[module]; !ok {
			continue
		} else if v != "v"+m[2] {
			t.Errorf("the binaries link %s %s, vendor/modules.txt has v%s", module, v, m[2])
		}
		vendored++
		provides := fmt.Sprintf("Provides:       bundled(golang(%s)) = %s", module, version)
		if !strings.Contains(parsed, provides+"\n") {
			t.Errorf("%s lacks the line %q (vendor/modules.txt has %s v%s)", spec, provides, module, version)
		}
		found := false
		for path, data := range vendor {
			base := strings.ToUpper(filepath.Base(path))
			if filepath.Dir(path) != module || !(strings.HasPrefix(base, "LICENSE") || strings.HasPrefix(base, "COPYING")) {
				continue
			}
			found = true
			id := classify(string(data))
			if id == "" {
				t.Errorf("vendor/%s: a license this test cannot tell; add its wording to licenses", path)
			} else if !slices.Contains(ids, id) {
				t.Errorf("vendor/%s is %s, which %s's License: %q does not list", path, id, spec, license[1])
			}
		}
		if !found {
			t.Errorf("vendored module %s has no LICENSE or COPYING file", module)
		}
	}
	if vendored != len(shipped) {
		t.Errorf("vendor/modules.txt has %d of the %d modules the binaries link: %v", vendored, len(shipped), shipped)
	}
}

func classify(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for _, l := range licenses {
		ok := l.not == "" || !strings.Contains(text, l.not)
		for _, w := range l.words {
			ok = ok && strings.Contains(text, w)
		}
		if ok {
			return l.id
		}
	}
	return ""
}
