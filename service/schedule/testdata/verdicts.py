#!/usr/bin/python3
# Asks snapm 0.7's own library for its verdict on each row it reads (a JSON
# list on stdin) and writes the verdicts (a JSON list on stdout). It holds
# no snapm code, and calls nothing that reaches systemd or the host: run it
# with snapm and boom on PYTHONPATH.
#
# Rows:
# - {"kind": "create", "name", "sources", "calendarspec", "options"}: what
#   `snapm schedule create` does before it writes: snapm's own argument
#   parser on the command line the options make, GcPolicy.from_cmd_args,
#   Scheduler.create's name check and Manager._validate_snapset_name (with
#   no snapshot set or schedule existing), _parse_source_specs and the
#   Schedule (whose calendar systemd-analyze checks); its verdict, and the
#   JSON Schedule.json(pretty=True) gives, which write_config writes.
#   autoindex, which the CLI always sets, is given to Schedule as is.
# - {"kind": "file", "data"}: Schedule.from_file on a file of those bytes
#   (base64): loaded (and its JSON again) or not.
# - {"kind": "size", "policy"}: is_size_policy: "yes", "no" or "error".
# - {"kind": "sources", "sources"}: _parse_source_specs alone.
# - {"kind": "name", "name"}: Scheduler.create's name check and
#   Manager._validate_snapset_name alone.
import base64
import json
import os
import sys
import tempfile
import types
from argparse import ArgumentParser

from snapm import is_size_policy
from snapm import command
from snapm.manager import _manager
from snapm.manager._schedule import GcPolicy, Schedule

BOOLS = {"boot": "--bootable", "revert": "--revert"}


def name_check():
    """snapm's _validate_schedule_name, nested in Scheduler.create."""
    create = _manager.Scheduler.create
    create = getattr(create, "__wrapped__", create)
    for const in create.__code__.co_consts:
        if getattr(const, "co_name", None) == "_validate_schedule_name":
            return types.FunctionType(const, vars(_manager))
    raise RuntimeError("snapm's Scheduler.create has no _validate_schedule_name")


VALIDATE_SCHEDULE_NAME = name_check()


class NoSnapshotSets:
    """The state Manager._validate_snapset_name reads: no snapshot set."""

    by_name = {}


def command_line(row):
    args = ["schedule", "create", "--calendarspec=" + row["calendarspec"]]
    autoindex = True
    for key, value in sorted(row["options"].items()):
        if key == "autoindex":
            autoindex = value
        elif key in BOOLS:
            if value is not True and value is not False:
                raise ValueError(f"{key} must be a boolean")
            if value:
                args.append(BOOLS[key])
        elif key == "default_size_policy":
            args.append("--size-policy=" + str(value))
        else:
            args.append("--" + key.replace("_", "-") + "=" + str(value))
    return args + ["--", row["name"]] + row["sources"], autoindex


def create(row):
    parser = ArgumentParser(prog="snapm", exit_on_error=False)
    command._add_schedule_subparser(parser.add_subparsers(dest="type"))
    args, autoindex = command_line(row)
    cmd_args = parser.parse_args(args)
    policy = GcPolicy.from_cmd_args(cmd_args)
    VALIDATE_SCHEDULE_NAME(cmd_args.schedule_name)
    _manager.Manager._validate_snapset_name(NoSnapshotSets(), cmd_args.schedule_name)
    _manager._parse_source_specs(cmd_args.sources, cmd_args.size_policy)
    sched = Schedule(cmd_args.schedule_name, cmd_args.sources,
                     cmd_args.size_policy, autoindex, cmd_args.calendarspec,
                     policy, boot=cmd_args.bootable, revert=cmd_args.revert)
    return sched.json(pretty=True)


def load(row):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "row.json")
        with open(path, "wb") as f:
            f.write(base64.b64decode(row["data"]))
        return Schedule.from_file(path).json(pretty=True)


def verdict(row):
    try:
        if row["kind"] == "size":
            return {"verdict": "yes" if is_size_policy(row["policy"]) else "no"}
        if row["kind"] == "sources":
            _manager._parse_source_specs(row["sources"], None)
            return {"verdict": "ok"}
        if row["kind"] == "name":
            VALIDATE_SCHEDULE_NAME(row["name"])
            _manager.Manager._validate_snapset_name(NoSnapshotSets(), row["name"])
            return {"verdict": "ok"}
        out = create(row) if row["kind"] == "create" else load(row)
        return {"verdict": "ok", "json": out}
    # argparse's errors exit; everything else snapm raises is a refusal.
    except (Exception, SystemExit) as err:  # pylint: disable=broad-except
        return {"verdict": "error" if row["kind"] == "size" else "refused",
                "error": f"{type(err).__name__}: {err}"}


def main():
    rows = json.load(sys.stdin)
    json.dump([verdict(row) for row in rows], sys.stdout)


if __name__ == "__main__":
    main()
