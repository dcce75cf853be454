package sysns

import (
	"encoding/json"
	"fmt"
	"os"
)

// WriteSchedule puts a minimal snapm schedule file for name (one source,
// "/", keeping everything) in the namespace's private
// /etc/snapm/schedule.d, laid out as snapm 0.7 writes it, so that tests
// can make timers for a schedule without running snapm.
func (ns *NS) WriteSchedule(name, calendarSpec string) error {
	n, _ := json.Marshal(name)
	c, _ := json.Marshal(calendarSpec)
	data := fmt.Sprintf(`{
    "name": %[1]s,
    "sources": [
        "/"
    ],
    "default_size_policy": null,
    "autoindex": true,
    "calendarspec": %[2]s,
    "boot": false,
    "revert": false,
    "gc_policy": {
        "policy_name": %[1]s,
        "policy_type": "ALL"
    }
}`, n, c)
	return os.WriteFile(ns.SnapmDirPath("schedule.d", name+".json"), []byte(data), 0o644)
}
