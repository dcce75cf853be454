package realsystemd

import (
	"regexp"
	"strconv"
	"testing"
)

// maxExposure is the bound; systemd's own timedated scores 2.2 and
// localed 1.0 on the same systemd.
const maxExposure = 1.5

// TestSecurityExposure: systemd's own audit of the installed unit.
func TestSecurityExposure(t *testing.T) {
	out, _ := ns.Output(testCtx(t), "systemd-analyze", "security", "--no-pager", "snapm-timersd.service")
	m := regexp.MustCompile(`Overall exposure level for snapm-timersd\.service: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze's output:\n%s", out)
	}
	score, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (bound %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Errorf("exposure %.1f > %.1f:\n%s", score, maxExposure, out)
	}
}
