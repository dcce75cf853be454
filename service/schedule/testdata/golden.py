#!/usr/bin/python3
# Writes golden/*.json: schedule files as snapm 0.7's own write_config
# writes them, from Schedule objects built with snapm's library. It
# contains no snapm code: run it with snapm and boom on the path, e.g.
#   PYTHONPATH=/var/tmp/interop/snapm:/var/tmp/interop/boom-boot \
#       /usr/bin/python3 golden.py golden
# (systemd-analyze must be there: snapm checks each calendar with it).
import os
import sys

from snapm.manager._schedule import GcPolicy, GcPolicyType, Schedule

# name, sources, default_size_policy, autoindex, calendarspec, boot,
# revert, policy type, params (as snapm's CLI passes them: every key of
# the type, 0 where not given)
CASES = [
    ("all", ["/"], None, True, "daily", False, False, "ALL", {}),
    ("all-size", ["/:25%FREE", "/var:2G", "/home"], "10%SIZE", True,
     "Mon..Fri 02:30", True, True, "ALL", {}),
    ("count", ["/", "/var"], None, True, "hourly", False, False, "COUNT",
     {"keep_count": 7}),
    ("count-zero", ["/dev/vg0/lv0:100%SIZE"], "2g", False, "*-*-* 00/6:00:00",
     True, False, "COUNT", {"keep_count": 0}),
    ("age", ["/"], None, True, "weekly", False, True, "AGE",
     {"keep_years": 1, "keep_months": 2, "keep_weeks": 3, "keep_days": 4}),
    ("age-negative", ["/srv:0%USED", "/opt:512MiB"], "50%FREE", True,
     "monthly", False, False, "AGE",
     {"keep_years": 0, "keep_months": -1, "keep_weeks": 0, "keep_days": 0}),
    ("timeline", ["/", "/home:15%USED"], None, True, "*:0/15", True, True,
     "TIMELINE",
     {"keep_yearly": 1, "keep_quarterly": 2, "keep_monthly": 3,
      "keep_weekly": 4, "keep_daily": 5, "keep_hourly": 6}),
    ("timeline-unicode", ["/mnt/caf\u00e9", "/mnt/\u65e5\u672c:2G",
                          "/mnt/\U0001F600 \"q\" \\ tab\t:1%SIZE"],
     "200%USED", False, "Sat *-*-1..7 18:00:00", False, False, "TIMELINE",
     {"keep_yearly": 0, "keep_quarterly": 0, "keep_monthly": 0,
      "keep_weekly": 0, "keep_daily": 7, "keep_hourly": 24}),
]


def main(out):
    for (name, sources, dsp, autoindex, cal, boot, revert, ptype,
         params) in CASES:
        policy = GcPolicy(name, GcPolicyType[ptype], params)
        sched = Schedule(name, sources, dsp, autoindex, cal, policy,
                         boot=boot, revert=revert)
        sched.write_config(out)
        mode = os.stat(os.path.join(out, name + ".json")).st_mode & 0o7777
        assert mode == 0o644, oct(mode)


if __name__ == "__main__":
    main(sys.argv[1])
