package cockpit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// A translation reaches its users: a cockpit/po/LANG.po made from the
// template and built as the page's build builds it is what the page
// shows to a user whose Cockpit speaks that language, and English stays
// where the translation has no string.
func TestTranslatedPage(t *testing.T) {
	root := sysns.RepoRoot()
	dir := t.TempDir()
	po := filepath.Join(dir, "de.po")
	for _, argv := range [][]string{
		{"make", "-s", "build/po/snapm-timers.pot"},
		{"msginit", "--no-translator", "--locale=de_DE.UTF-8", "--input=build/po/snapm-timers.pot", "--output-file=" + po},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	template, err := os.ReadFile(po)
	if err != nil {
		t.Fatal(err)
	}
	translated := string(template)
	for en, de := range map[string]string{"Snapshot schedules": "Snapshot-Zeitpläne", "Create schedule": "Zeitplan anlegen"} {
		translated = strings.Replace(translated, fmt.Sprintf("msgid %q\nmsgstr \"\"", en), fmt.Sprintf("msgid %q\nmsgstr %q", en, de), 1)
	}
	if err := os.WriteFile(po, []byte(translated), 0o644); err != nil {
		t.Fatal(err)
	}
	// Beside the installed page, where the bridge serves po.js from.
	script := fmt.Sprintf("/proc/%d/root%s/share/cockpit/snapm-timers/po.de.js", ns.PID, pkgPrefix)
	cmd := exec.Command("node", "cockpit/po2js.js", po, "de", script)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("po2js: %v\n%s", err, out)
	}
	t.Cleanup(func() { os.Remove(script) })

	newTimer(t, bus(t), "create", "translated", "daily")
	ctx := tab(t, rootURL)
	// The bridge lists a package's files when the session starts; it is
	// told to read them again, as Cockpit's own pages tell it after an
	// installation.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`void cockpit.dbus(null, { bus: "internal" })
		.call("/packages", "cockpit.Packages", "Reload", []).then(() => { window.reloaded = true })`))
	waitJS(t, ctx, `window.reloaded === true`)
	// Cockpit's language setting: the bridge picks po.LANG.js by it.
	const lang = `document.cookie = "CockpitLang=%s; path=/"`
	do(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(lang, "de")))
	t.Cleanup(func() { do(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(lang, "")+`+"; max-age=0"`)) })
	do(t, ctx, chromedp.Navigate(rootURL))
	waitJS(t, ctx, loaded)
	if got := text(t, ctx, "h1"); got != "Snapshot-Zeitpläne" {
		t.Errorf("the title reads %q to a German user", got)
	}
	if got := text(t, ctx, "#create-schedule"); got != "Zeitplan anlegen" {
		t.Errorf("the create button reads %q to a German user", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#filter-name input").placeholder`); got != "Filter by name" {
		t.Errorf("an untranslated string reads %q, want it in English", got)
	}
	screenshot(t, ctx, "table-de")
}
