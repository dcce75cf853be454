package install

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// requirement is one line of scripts/requirements.list.
type requirement struct{ mode, pkg, check string }

func readRequirements(t *testing.T) []requirement {
	t.Helper()
	f, err := os.Open(filepath.Join(sysns.RepoRoot(), "scripts", "requirements.list"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var reqs []requirement
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 3 {
			t.Fatalf("requirements.list: %q: want MODE PACKAGE CHECK [NOTE]", s.Text())
		}
		reqs = append(reqs, requirement{fields[0], fields[1], fields[2]})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return reqs
}

// testCode is every Go file that runs under make test: the tests and the
// harness packages under tests/.
func testCode(rel string) bool {
	return strings.HasSuffix(rel, "_test.go") || strings.HasPrefix(rel, "tests/")
}

// pathInString finds absolute paths to what packages install, inside
// any string (a shell line included).
var pathInString = regexp.MustCompile(`(?:^|[\s'"=])(/(?:usr/)?(?:s?bin|lib|libexec)/[A-Za-z0-9@._+/-]*[A-Za-z0-9]|/usr/share/(?:bash-completion|cockpit)/[A-Za-z0-9._/-]*[A-Za-z0-9])`)

// executed finds what the test code executes, and where: the command of
// every exec.Command, exec.CommandContext and exec.LookPath and of every
// call of a helper taking "argv ...string", when it names a command on
// this machine; every absolute path, in any string, to an executable or
// to a file of bash-completion or cockpit; and every Python module outside
// the standard library that a string or a manual's example imports.
func executed(t *testing.T) map[string][]string {
	root := sysns.RepoRoot()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(rel, ".go") || !testCode(filepath.ToSlash(rel)) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		files = append(files, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The helpers that run argv: the index of that parameter, by name.
	runners := map[string]int{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || len(fn.Type.Params.List) == 0 {
				continue
			}
			params := fn.Type.Params.List
			last := params[len(params)-1]
			if _, variadic := last.Type.(*ast.Ellipsis); variadic && len(last.Names) == 1 && last.Names[0].Name == "argv" {
				n := 0
				for _, p := range params {
					n += max(1, len(p.Names))
				}
				runners[fn.Name.Name] = n - 1
			}
		}
	}
	found := map[string][]string{}
	note := func(n ast.Node, what string) {
		pos := fset.Position(n.Pos())
		rel, _ := filepath.Rel(root, pos.Filename)
		found[what] = append(found[what], rel+":"+strconv.Itoa(pos.Line))
	}
	// Python the tests run: in their strings, and the manuals' examples
	// (tests/packaging runs them).
	stdlib := pythonStdlib(t)
	pyImports := func(code, where string) {
		for _, m := range pythonImport.FindAllStringSubmatch(code, -1) {
			for _, mod := range strings.Split(m[1]+","+m[2], ",") {
				mod, _, _ = strings.Cut(strings.TrimSpace(mod), ".")
				if mod != "" && !stdlib[mod] && !fromInterop[mod] {
					found["py:"+mod] = append(found["py:"+mod], where)
				}
			}
		}
	}
	manuals, _ := filepath.Glob(filepath.Join(root, "man", "*.md"))
	for _, m := range manuals {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		pyImports(string(data), "man/"+filepath.Base(m))
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if i, ok := commandArg(n, runners); ok && i < len(n.Args) {
					if word, ok := firstWord(n.Args[i]); ok && isCommandWord(word) {
						if _, err := exec.LookPath(word); err == nil {
							note(n, word)
						}
					}
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil {
					pos := fset.Position(n.Pos())
					rel, _ := filepath.Rel(root, pos.Filename)
					pyImports(s, rel+":"+strconv.Itoa(pos.Line))
					for _, m := range pathInString.FindAllStringSubmatch(s, -1) {
						if installed(m[1]) {
							note(n, m[1])
						}
					}
				}
			}
			return true
		})
	}
	return found
}

// fromInterop are the modules of the real snapm and boom, which the tests
// import only from the venv tests/sysns builds of the interop archives
// (its python3-venv is on the list), never from Debian's python3.
var fromInterop = map[string]bool{"snapm": true, "boom": true}

// pythonImport is a Python import line: "import a, b.c" or "from a.b import c".
var pythonImport = regexp.MustCompile(`(?m)^\s*(?:import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*$|from\s+([A-Za-z_][\w.]*)\s+import\b)`)

// pythonStdlib is what Debian's python3 brings without a package of ours.
func pythonStdlib(t *testing.T) map[string]bool {
	out, err := exec.Command("/usr/bin/python3", "-c", "import sys; print('\\n'.join(sys.stdlib_module_names))").Output()
	if err != nil {
		t.Fatal("python3:", err)
	}
	mods := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		mods[m] = true
	}
	return mods
}

// commandArg is the index of the argument that holds the command, for a
// call that runs or looks one up.
func commandArg(call *ast.CallExpr, runners map[string]int) (int, bool) {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		if pkg, ok := fn.X.(*ast.Ident); ok && pkg.Name == "exec" {
			switch fn.Sel.Name {
			case "Command", "LookPath":
				return 0, true
			case "CommandContext":
				return 1, true
			}
			return 0, false
		}
		i, ok := runners[fn.Sel.Name]
		return i, ok
	case *ast.Ident:
		i, ok := runners[fn.Name]
		return i, ok
	}
	return 0, false
}

// firstWord is the first string of an argument: a literal, the first
// element of a list, or of the list an append starts from.
func firstWord(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(e.Value)
		return s, e.Kind == token.STRING && err == nil
	case *ast.CompositeLit:
		if len(e.Elts) > 0 {
			return firstWord(e.Elts[0])
		}
	case *ast.CallExpr:
		if fn, ok := e.Fun.(*ast.Ident); ok && fn.Name == "append" && len(e.Args) > 0 {
			return firstWord(e.Args[0])
		}
	}
	return "", false
}

func isCommandWord(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.+") == ""
}

// installed: a package's executable, or a file of bash-completion's or
// cockpit's, present here.
func installed(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	return st.Mode().IsRegular() && (st.Mode()&0o111 != 0 || strings.HasPrefix(path, "/usr/share/"))
}

// covered: the list checks what a test runs, by its name or its path.
func covered(what string, reqs []requirement) bool {
	onPath := func(p string) (string, bool) {
		dir, base := filepath.Split(p)
		return base, slices.Contains([]string{"/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"}, dir)
	}
	for _, r := range reqs {
		if r.check == what {
			return true
		}
		if base, ok := onPath(what); ok && r.check == base {
			return true
		}
		if base, ok := onPath(r.check); ok && what == base {
			return true
		}
	}
	return false
}

// Every command and path the tests execute is checked by
// scripts/requirements, which names the package that brings it.
func TestRequirementsListIsComplete(t *testing.T) {
	reqs := readRequirements(t)
	found := executed(t)
	if len(found) < 20 {
		t.Fatalf("only %d commands found in the tests: the scan is broken", len(found))
	}
	for what, where := range found {
		if !covered(what, reqs) {
			t.Errorf("the tests run %s (%s), which scripts/requirements.list does not check", what, strings.Join(where, ", "))
		}
	}
	t.Logf("%d commands and paths the tests run, against a list of %d", len(found), len(reqs))
}

// Where a package of the list is installed here, it owns what the list
// checks, or depends on the package that does (python3-venv): a missing
// item is named with a package that brings it.
func TestRequirementsNameTheirPackage(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian machine:", err)
	}
	paths := map[requirement][]string{}
	var all []string
	for _, r := range readRequirements(t) {
		if r.pkg == "-" {
			continue
		}
		if status, _ := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", r.pkg).Output(); string(status) != "installed" {
			continue // the tests pass with it from elsewhere (nodejs's npm here)
		}
		switch {
		case strings.HasPrefix(r.check, "/"):
			paths[r] = []string{r.check}
		case strings.HasPrefix(r.check, "py:"):
			mod := r.check[3:]
			out, err := exec.Command("/usr/bin/python3", "-c", "import "+mod+"; print("+mod+".__file__)").Output()
			if err != nil {
				t.Errorf("%s: %v", r.check, err)
				continue
			}
			paths[r] = []string{strings.TrimSpace(string(out))}
		default:
			p, err := exec.LookPath(r.check)
			if err != nil {
				t.Errorf("%s: %v", r.check, err)
				continue
			}
			// dpkg knows a file by the path its package ships, before or
			// after the merge of /usr.
			paths[r] = []string{p, strings.TrimPrefix(p, "/usr")}
		}
		all = append(all, paths[r]...)
	}
	// One query for all: dpkg-query -S reads the whole database each time.
	// It fails for the paths no package ships, and answers for the rest.
	out, _ := exec.Command("dpkg-query", append([]string{"-S"}, all...)...).Output()
	owners := map[string][]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if pkgs, path, ok := strings.Cut(l, ": "); ok {
			for _, p := range strings.Split(pkgs, ", ") {
				p, _, _ = strings.Cut(p, ":")
				owners[path] = append(owners[path], p)
			}
		}
	}
	for r, ps := range paths {
		var own []string
		for _, p := range ps {
			own = append(own, owners[p]...)
		}
		if slices.Contains(own, r.pkg) {
			continue
		}
		depends, _ := exec.Command("dpkg-query", "-W", "-f=${Pre-Depends}, ${Depends}", r.pkg).Output()
		if !slices.ContainsFunc(own, func(o string) bool { return slices.Contains(strings.FieldsFunc(string(depends), notPkgName), o) }) {
			t.Errorf("%s: the list names package %s; dpkg says it is %q's", r.check, r.pkg, own)
		}
	}
}

func notPkgName(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+-.", r))
}
