package bus

import (
	"os/exec"
	"strconv"
	"strings"
)

func runAs(uid int, argv ...string) (string, error) {
	id := strconv.Itoa(uid)
	cmd := exec.Command("setpriv", append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups"}, argv...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
