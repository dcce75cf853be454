package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// poString is one string of a .po or .pot file: a keyword's quoted
// string and the quoted lines that continue it.
var poString = regexp.MustCompile(`(?m)^(msgid|msgstr) ("(?:[^"\\]|\\.)*"(?:\n"(?:[^"\\]|\\.)*")*)`)

// msgids returns the msgids of a .po or .pot file.
func msgids(t *testing.T, po string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range poString.FindAllStringSubmatch(po, -1) {
		if m[1] != "msgid" {
			continue
		}
		var id strings.Builder
		for _, part := range strings.Split(m[2], "\n") {
			s, err := strconv.Unquote(part)
			if err != nil {
				t.Fatalf("%s: %v", part, err)
			}
			id.WriteString(s)
		}
		ids[id.String()] = true
	}
	return ids
}

// gettextCall is a page string marked for translation: _("...").
var gettextCall = regexp.MustCompile(`\b_\(("(?:[^"\\]|\\.)*")`)

// Every string the page marks for translation is in the template `make
// pot` extracts from cockpit/src, the one translators start from.
func TestPageStringsAreInTheTemplate(t *testing.T) {
	run(t, nil, "make", "-s", "-B", "build/po/snapm-timers.pot")
	pot, err := os.ReadFile(filepath.Join(root, "build", "po", "snapm-timers.pot"))
	if err != nil {
		t.Fatal(err)
	}
	ids := msgids(t, string(pot))
	sources, _ := filepath.Glob(filepath.Join(root, "cockpit", "src", "*.js*"))
	marked := 0
	for _, f := range sources {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range gettextCall.FindAllStringSubmatch(string(src), -1) {
			s, err := strconv.Unquote(m[1])
			if err != nil {
				t.Fatalf("%s: %s: %v", f, m[1], err)
			}
			marked++
			if !ids[s] {
				t.Errorf("%s: %q is marked for translation but not in the template", filepath.Base(f), s)
			}
		}
	}
	// The page's title, in its manifest and its <title>, is one of them.
	if !ids["Snapshot schedules"] {
		t.Error(`the template lacks the page's title "Snapshot schedules"`)
	}
	if marked < 50 {
		t.Errorf("found %d strings marked for translation in cockpit/src; the page has more", marked)
	}
	t.Logf("%d strings marked, %d in the template", marked, len(ids)-1)
}

// A translation started from the template becomes the script Cockpit
// loads as the page's po.js: cockpit.locale() of its strings, with the
// plural forms as a function, and an untranslated string left out.
func TestTranslationBecomesThePageScript(t *testing.T) {
	run(t, nil, "make", "-s", "build/po/snapm-timers.pot")
	dir := t.TempDir()
	po := filepath.Join(dir, "de.po")
	run(t, nil, "msginit", "--no-translator", "--locale=de_DE.UTF-8", "--input=build/po/snapm-timers.pot", "--output-file="+po)
	text, err := os.ReadFile(po)
	if err != nil {
		t.Fatal(err)
	}
	translated := strings.Replace(string(text), "msgid \"Snapshot schedules\"\nmsgstr \"\"", "msgid \"Snapshot schedules\"\nmsgstr \"Snapshot-Zeitpläne\"", 1)
	if translated == string(text) {
		t.Fatal(`msginit wrote no entry for "Snapshot schedules"`)
	}
	if err := os.WriteFile(po, []byte(translated), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "po.de.js")
	run(t, nil, "node", "cockpit/po2js.js", po, "de", script)
	// The script run as the browser runs it, with cockpit.locale caught.
	out := run(t, nil, "node", "-e", `
		const fs = require("fs");
		let got;
		globalThis.cockpit = { locale: l => { got = l } };
		eval(fs.readFileSync(process.argv[1], "utf8"));
		const plural = got[""]["plural-forms"];
		got[""]["plural-forms"] = [1, 2, 5].map(plural);
		console.log(JSON.stringify(got));
	`, script)
	var locale map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &locale); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := string(locale["Snapshot schedules"]), `[null,"Snapshot-Zeitpläne"]`; got != want {
		t.Errorf(`"Snapshot schedules" becomes %s, want %s`, got, want)
	}
	if got, want := string(locale[""]), `{"language":"de","plural-forms":[0,1,1]}`; got != want {
		t.Errorf("the header becomes %s, want %s", got, want)
	}
	if len(locale) != 2 {
		t.Errorf("the script has %d entries, want the header and the one translated string: %s", len(locale), out)
	}
}
